// The dtrace that `memtrace setup-bpftrace --include-dtrace` leaves (MEMTRACE_DTRACE_LIVE, CI's
// .ci-cache/forky/dtrace): it says it is DTrace for Linux, runs a program on this kernel, is what
// memtrace-dtrace finds in that root, and reads a libdir that leaves out what its marker says and no
// more, while the root's own files stay whole.
import { existsSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { findDtrace } from '../../src/run/dtrace.js';
import { DTRACE_LIBDIR_NAME, readMarker, rootDtraceLibdir } from '../../src/run/private-bpftrace.js';
import { liveDtrace, liveDtraceTest } from '../helpers/live-dtrace.js';

liveDtraceTest('the dtrace runs a D program here and says it is DTrace for Linux', async (t) => {
  const dtrace = await findDtrace({ path: liveDtrace()! });
  t.is(dtrace.kind, 'linux');
  t.regex(dtrace.version ?? '', /^D 2\.\d+\.\d+$/);
  const run = await execa(liveDtrace()!, ['-q', '-n', 'BEGIN { printf("%d\\n", 23 * 2); exit(0); }'], { reject: false, timeout: 60_000 });
  t.is(run.exitCode, 0, run.stderr);
  // dtrace ends its output with a blank line (execa takes off the last line break).
  t.is(run.stdout, '46\n');
});

liveDtraceTest('a set-up root: memtrace-dtrace finds its dtrace, and the libdir leaves out what the marker says', async (t) => {
  const root = dirname(liveDtrace()!);
  const marker = readMarker(root);
  if (marker === null) return t.pass(`${root} was not made by memtrace setup-bpftrace: nothing more to check`);
  t.is((await findDtrace({ env: { PATH: '', MEMTRACE_BPFTRACE_ROOT: root } })).path, join(root, 'dtrace'));
  t.not(marker.dtrace, undefined, 'the marker records the libdir');
  t.is(marker.dtrace!.libdir, join(root, DTRACE_LIBDIR_NAME));
  for (const file of marker.dtrace!.leftOut) {
    t.false(existsSync(join(marker.dtrace!.libdir, file)), `${file} is left out`);
    t.true(lstatSync(join(rootDtraceLibdir(root), file)).isFile(), `the root's own ${file} stays`);
  }
  t.true(lstatSync(join(marker.dtrace!.libdir, '6.1/sched.d')).isSymbolicLink(), 'the rest is linked');
});
