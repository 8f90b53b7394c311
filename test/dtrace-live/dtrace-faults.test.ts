// DTrace for Linux (MEMTRACE_DTRACE_LIVE) killed at seeded random moments of a trace — while it
// attaches (before BEGIN's marker), while it traces, while it prints after memtrace's SIGINT — and
// memtrace itself SIGKILLed while tracing. Each run checks that the attached target runs on (alive, not
// stopped), that memtrace's exit and report say what happened, and that no uprobe_events entry of that
// dtrace (group dt_<its pid>_…: a killed dtrace leaves them, for good) is left behind.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { MEMTRACE_DTRACE } from '../helpers/cli.js';
import { readReport, startWaitingWorkload, temporary } from '../helpers/faults.js';
import { buildWorkload } from '../helpers/workloads.js';
import { liveDtrace, liveDtraceTest } from '../helpers/live-dtrace.js';
import { descendantsOf, processInfo, seededRandom, sleep, type ProcessInfo } from '../helpers/processes.js';

const random = seededRandom('dtrace-killed');

function uprobeEntriesOf(pid: number): string[] {
  return readFileSync('/sys/kernel/tracing/uprobe_events', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`:dt_${pid}_`));
}

/** memtrace-dtrace malloc attached to `pid`, with the live dtrace, its stderr gathered as it comes. */
function startDtraceMemtrace(pid: number, report: string) {
  const session = execa(
    process.execPath,
    [MEMTRACE_DTRACE, 'malloc', '--lib', 'libc.so.6', '--tracer-path', liveDtrace()!, '-o', report, '-p', String(pid)],
    { reject: false, timeout: 150_000 },
  );
  let stderr = '';
  session.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { session, stderr: () => stderr, tracing: () => /memtrace: tracing/.test(stderr) };
}

/** The tracing dtrace under memtrace (the wrapper execs the root's loader, which runs dtrace: one PID). */
async function dtraceOf(memtracePid: number): Promise<ProcessInfo> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = descendantsOf(memtracePid).find((info) => info.cmdline.includes('usr/sbin/dtrace') && info.cmdline.includes(' -s '));
    if (found !== undefined) return found;
    await sleep(5);
  }
  throw new Error(`no dtrace appeared under PID ${memtracePid}`);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(20);
  }
  return condition();
}

/** The target is alive and not stopped ('T') or a zombie. */
function assertTargetRuns(t: ExecutionContext, pid: number) {
  const info = processInfo(pid);
  t.not(info, null, 'the target must outlive the fault');
  t.false(['T', 't', 'Z'].includes(info!.state), `the target is in state ${info!.state}`);
}

for (const phase of ['attach', 'tracing', 'printing'] as const) {
  liveDtraceTest(`malloc, attached: dtrace killed during ${phase}; the target runs on, no uprobe_events entry is left`, async (t) => {
    const { target, pid } = await startWaitingWorkload(['--linger', '30']);
    const report = temporary('report.json');
    const run = startDtraceMemtrace(pid, report);
    try {
      const dtrace = await dtraceOf(run.session.pid!);
      let delayMs: number;
      if (phase === 'attach') {
        // dtrace takes ~0.5-1 s here to compile and attach: a moment inside that window.
        delayMs = random.next(0, 500);
      } else {
        t.true(await until(run.tracing, 60_000), run.stderr());
        process.kill(pid, 'SIGUSR1');
        if (phase === 'printing') run.session.kill('SIGINT');
        delayMs = phase === 'tracing' ? random.next(100, 800) : random.next(0, 60);
      }
      await sleep(delayMs);
      const afterBegin = run.tracing();
      process.kill(dtrace.pid, 'SIGKILL');
      const result = await run.session;
      t.log(`killed ${delayMs} ms into ${phase}; BEGIN seen: ${afterBegin}; exit ${result.exitCode}`);
      assertTargetRuns(t, pid);
      t.deepEqual(uprobeEntriesOf(dtrace.pid), [], "the killed dtrace's uprobe_events entries are removed");
      const profile = readReport<MallocProfile>(report);
      if (!afterBegin) {
        t.is(result.exitCode, 4, run.stderr());
        t.regex(run.stderr(), /dtrace \(.*\) was killed by SIGKILL before tracing started/);
        t.is(profile, null);
        return;
      }
      t.not(profile, null, run.stderr());
      t.true(profile!.partial);
      if (phase === 'printing' && profile!.partialReason === 'interrupted by SIGINT') t.is(result.exitCode, 0);
      else {
        t.is(result.exitCode, 4, run.stderr());
        t.is(profile!.partialReason, phase === 'printing' ? 'interrupted by SIGINT' : 'dtrace was killed by SIGKILL');
      }
    } finally {
      target.kill('SIGKILL');
    }
  });
}

liveDtraceTest(
  'memtrace SIGKILLed while tracing: its guard kills dtrace and removes its uprobe_events entries; the target runs on',
  async (t) => {
    const { target, pid } = await startWaitingWorkload(['--linger', '30']);
    const run = startDtraceMemtrace(pid, temporary('report.json'));
    try {
      const dtrace = await dtraceOf(run.session.pid!);
      t.true(await until(run.tracing, 60_000), run.stderr());
      process.kill(pid, 'SIGUSR1');
      await sleep(random.next(100, 800));
      t.not(uprobeEntriesOf(dtrace.pid), [], 'a tracing dtrace has its BEGIN and END entries');
      run.session.kill('SIGKILL');
      await run.session;
      t.true(await until(() => processInfo(dtrace.pid) === null, 5_000), 'dtrace must be gone within 5 s');
      t.true(await until(() => uprobeEntriesOf(dtrace.pid).length === 0, 12_000), uprobeEntriesOf(dtrace.pid).join('\n'));
      assertTargetRuns(t, pid);
    } finally {
      target.kill('SIGKILL');
    }
  },
);

// Launched (dtrace -c), the command lives on after dtrace is killed; the program's records come
// through a FIFO that the command does not hold, so memtrace writes its report at once rather than
// when the command ends (30 s later).
liveDtraceTest('malloc, launched: dtrace killed while tracing; the report is written at once, and the command runs on', async (t) => {
  const report = temporary('report.json');
  const began = Date.now();
  const session = execa(
    process.execPath,
    [
      MEMTRACE_DTRACE,
      'malloc',
      '--lib',
      'libc.so.6',
      '--tracer-path',
      liveDtrace()!,
      '-o',
      report,
      '--',
      buildWorkload('known-allocs'),
      '--linger',
      '30',
    ],
    { reject: false, timeout: 150_000 },
  );
  let stderr = '';
  session.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let command: ProcessInfo | undefined;
  try {
    const dtrace = await dtraceOf(session.pid!);
    t.true(await until(() => /memtrace: tracing/.test(stderr), 60_000), stderr);
    t.true(
      await until(() => (command = descendantsOf(dtrace.pid).find((info) => info.cmdline.includes('known-allocs'))) !== undefined, 10_000),
      'the command under dtrace',
    );
    await sleep(random.next(300, 1_000));
    process.kill(dtrace.pid, 'SIGKILL');
    // memtrace's exit, not the end of its output: the command holds the pipe memtrace's stdout is.
    const exitCode = await new Promise<number | null>((resolve) => session.once('exit', resolve));
    const seconds = (Date.now() - began) / 1000;
    t.true(seconds < 25, `memtrace ended ${seconds.toFixed(1)} s after it began: it waited for the command`);
    t.is(exitCode, 4, stderr);
    const profile = readReport<MallocProfile>(report);
    t.not(profile, null, stderr);
    t.true(profile!.partial);
    t.regex(profile!.partialReason ?? '', /^dtrace was killed by SIGKILL/);
    t.deepEqual(uprobeEntriesOf(dtrace.pid), []);
    assertTargetRuns(t, command!.pid);
  } finally {
    session.kill('SIGKILL');
    if (command !== undefined) process.kill(command.pid, 'SIGKILL');
  }
});
