// With a terminal, a launched command gets a terminal of its own (node-pty): it sees a tty, its
// output reaches memtrace's terminal, and its exit code is memtrace's.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { MEMTRACE_BPF } from '../helpers/cli.js';
import { stacksOf } from '../helpers/known-allocs.js';
import { buildWorkload } from '../helpers/workloads.js';

liveTest('in a terminal: the command has a tty, its output and its exit code', async (t) => {
  const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'report.json');
  const inner = `${process.execPath} ${MEMTRACE_BPF} malloc -o ${output} -- /bin/sh -c 'test -t 0 && test -t 1 && echo on-a-tty; exec ${buildWorkload('known-allocs')}'`;
  // script(1) gives memtrace a terminal of its own, as a user's shell would.
  const result = await execa('script', ['-qec', inner, '/dev/null'], { reject: false, timeout: 120_000 });
  t.is(result.exitCode, 7, `${result.stdout}`);
  t.regex(`${result.stdout}`, /^allocated\r?$/m);
  t.regex(`${result.stdout}`, /on-a-tty/);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  // The shell's own allocations before its exec are traced too; known-allocs' are exact.
  t.deepEqual(stacksOf(profile, 'make_pages').allocs, 29);
});
