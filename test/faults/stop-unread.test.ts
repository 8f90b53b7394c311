// Ctrl-C while bpftrace has not yet read the last records its probes wrote: none of them is lost.
// bpftrace drops, uncounted, every record it reads after its exit signal (src/run/tracer-settle.ts),
// so memtrace waits for it to be idle before it forwards the stop. The test makes the race certain:
// it starves bpftrace of CPU (SCHED_IDLE, on one core that a busy loop holds) while the target
// forces its collections, asks memtrace to stop, and only then lets bpftrace run. Without the wait,
// the collections still unread are dropped (23 written, 0 to 22 reported, in every run by hand).
// It runs alone: it holds a core, and looks at no other test's processes.
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { liveTest } from '../helpers/live.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { descendantsOf } from '../helpers/processes.js';
import { checkInterruptedLog, FORCED, startWaitingNode } from '../helpers/gc-target.js';

/** The core bpftrace is held to, beside a busy loop: the last one. */
const CORE = String(availableParallelism() - 1);

liveTest('Ctrl-C before bpftrace read the last collections: all 23 are reported, none dropped at the stop', async (t) => {
  const { target, pid } = await startWaitingNode(t, ['--linger']);
  const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'gc.json');
  const session = memtrace(['gc', '-p', String(pid), '-o', output]);
  t.teardown(() => void session.kill('SIGKILL'));
  await waitForLine(session.stderr!, /memtrace: tracing/);

  // bpftrace itself (a private root runs it through its loader, under the loader's name).
  const tracer = descendantsOf(session.pid!).find(
    (info) => info.comm === 'bpftrace' || (info.comm.startsWith('ld-linux') && info.cmdline.includes('bpftrace')),
  );
  if (tracer === undefined) return t.fail(`no bpftrace under memtrace: ${JSON.stringify(descendantsOf(session.pid!))}`);
  const hog = execa('taskset', ['-c', CORE, process.execPath, '-e', 'for (;;) {}'], { reject: false });
  t.teardown(() => void hog.kill('SIGKILL'));
  await execa('taskset', ['-a', '-p', '-c', CORE, String(tracer.pid)]);
  await execa('chrt', ['-a', '--idle', '-p', '0', String(tracer.pid)]);

  process.kill(pid, 'SIGUSR2');
  await waitForLine(target.stdout!, new RegExp(`^done ${FORCED}$`));
  session.kill('SIGINT');
  // Long enough for memtrace to have forwarded the stop had it not waited; short of its wait's limit.
  await new Promise((resolve) => setTimeout(resolve, 300));
  hog.kill('SIGKILL');
  await hog;

  checkInterruptedLog(t, await session, output);
  process.kill(pid, 'SIGTERM');
  t.is((await target).exitCode, 0);
});
