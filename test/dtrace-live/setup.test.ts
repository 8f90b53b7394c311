// The dtrace that `memtrace setup-bpftrace --include-dtrace` leaves (MEMTRACE_DTRACE_LIVE, CI's
// .ci-cache/forky/dtrace): it says it is DTrace for Linux, runs a program on this kernel, is what
// memtrace-dtrace finds in that root, and reads a libdir that leaves out what its marker says and no
// more, while the root's own files stay whole; memtrace's own runs get the lean libdir, with which
// dtrace builds no kernel CTF (the 2-7 s a run the whole libdir costs here).
import { existsSync, lstatSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { findDtrace } from '../../src/run/dtrace.js';
import { DTRACE_LEAN_LIBDIR_NAME, DTRACE_LIBDIR_NAME, readMarker, rootDtraceLibdir } from '../../src/run/private-bpftrace.js';
import { liveDtrace, liveDtraceTest, runDtrace } from '../helpers/live-dtrace.js';

const PROGRAM = 'BEGIN { printf("%d\\n", 23 * 2); exit(0); }';
/** What DTrace for Linux's debug output says when it turns the kernel's BTF into CTF. */
const KERNEL_CTF = /Generat\w+ (?:vmlinux )?CTF (?:for module vmlinux )?from BTF/;

liveDtraceTest('the dtrace runs a D program here and says it is DTrace for Linux', async (t) => {
  const dtrace = await findDtrace({ path: liveDtrace()! });
  t.is(dtrace.kind, 'linux');
  t.regex(dtrace.version ?? '', /^D 2\.\d+\.\d+$/);
  const run = await execa(liveDtrace()!, ['-q', '-n', PROGRAM], { reject: false, timeout: 60_000, env: { DTRACE_DEBUG: '1' } });
  t.is(run.exitCode, 0, run.stderr);
  // dtrace ends its output with a blank line (execa takes off the last line break).
  t.is(run.stdout, '46\n');
  // With the whole libdir, the D library files make dtrace build the kernel's types (debug output).
  t.regex(run.stderr, KERNEL_CTF);
});

liveDtraceTest("memtrace's runs (DTRACE_LEAN_ENV): the same program, and dtrace builds no kernel CTF", async (t) => {
  const run = await runDtrace(['-q', '-n', PROGRAM], { reject: false, timeout: 60_000, env: { DTRACE_DEBUG: '1' } });
  t.is(run.exitCode, 0, run.stderr);
  t.is(run.stdout, '46\n');
  const root = dirname(liveDtrace()!);
  if (readMarker(root) === null) return;
  t.notRegex(run.stderr, KERNEL_CTF);
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
  // memtrace's own: the same links but the D library files.
  const lean = marker.dtrace!.lean;
  t.not(lean, undefined, 'the marker records the lean libdir');
  t.is(lean!.libdir, join(root, DTRACE_LEAN_LIBDIR_NAME));
  t.true(lean!.leftOut.includes('6.1/sched.d'));
  t.false(existsSync(join(lean!.libdir, '6.1/sched.d')));
  t.true(lstatSync(join(lean!.libdir, 'bpf_dlib.o')).isSymbolicLink());
});
