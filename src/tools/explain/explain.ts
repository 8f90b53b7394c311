// `memtrace explain`: where a process's RSS is, in one snapshot. Attached (-p PID), the snapshot is
// taken at once, or after --duration; launched (-- COMMAND), after --duration or at Ctrl-C, and the
// command is then ended (SIGTERM), as a trace's launched command is. The command runs in a process
// group of its own so that a Ctrl-C reaches memtrace first: the snapshot is taken while the
// command still holds its memory, and only then is the command told.
import { TargetError, UsageError } from '../../errors.js';
import type { RssExplanation } from '../../model/rss-explanation.js';
import { EXPLAIN_REPORTS, type ExplainFormat } from '../../report/explain-index.js';
import { formatBytes } from '../../report/units.js';
import { StatmReader } from '../../sample/linux-proc.js';
import { isAlive } from '../../sample/process-memory.js';
import { exitCodeOf, launchCommand, type PlainTarget } from '../../run/launch.js';
import type { Target, TargetExit } from '../../run/target.js';
import { writeFamilyReports } from '../common/write-reports.js';
import { readNodeHeap } from './node-heap.js';
import { explainProcess } from './snapshot.js';

export interface ExplainOptions {
  target: Target;
  /** When to take the snapshot: after this long; null: at once (attached) or at Ctrl-C (launched). */
  durationMs: number | null;
  reports: Array<{ path: string | null; format: ExplainFormat }>;
  /** A Node target's V8 figures through its inspector, opened for the snapshot. */
  attachInspector: boolean;
}

/** How long a launched command has to end after the snapshot before it is killed. */
const END_GRACE_MS = 5000;

type Io = { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream };

export async function runExplain(options: ExplainOptions, io: Io): Promise<number> {
  if (process.platform !== 'linux')
    throw new UsageError(`memtrace explain reads /proc/PID/smaps and the process's memory: Linux only (this is ${process.platform})`);
  if (options.target.kind === 'attach') {
    const pid = options.target.pid;
    requireProcess(pid);
    if (options.durationMs !== null) {
      io.stderr.write(`memtrace: explaining PID ${pid} in ${options.durationMs / 1000} s (Ctrl-C: now)\n`);
      const status = startCountdown(pid, options.durationMs, io.stderr);
      const moment = await waitFor(options.durationMs, { exited: processGone(pid) }).finally(status.stop);
      if (moment === 'exited') throw new TargetError(`process ${pid} exited before the snapshot`);
    }
    return report(await snapshot(pid, options, io), options, io);
  }
  const target = await launchCommand({
    command: options.target.command,
    env: process.env,
    stdout: options.reports.some((request) => request.path === null) ? 'stderr' : 'inherit',
    ownProcessGroup: true,
  });
  const when = options.durationMs === null ? 'at Ctrl-C' : `in ${options.durationMs / 1000} s (Ctrl-C: now)`;
  io.stderr.write(`memtrace: explaining PID ${target.pid} (${options.target.command[0]}) ${when}\n`);
  const status = startCountdown(target.pid, options.durationMs, io.stderr);
  const moment = await waitFor(options.durationMs, target).finally(status.stop);
  if (moment === 'exited') {
    const exit = await target.exited;
    throw new TargetError(
      `the command ${describeExit(exit)} before the snapshot: nothing is left to explain; give --duration shorter than its run (it ran until then)`,
    );
  }
  // The command runs in a process group of its own: memtrace must not die of a second Ctrl-C while
  // it reads, leaving the command running without it. The snapshot takes well under a second.
  const holdOn = (): void => void io.stderr.write('memtrace: taking the snapshot; the command is ended right after\n');
  process.on('SIGINT', holdOn).on('SIGTERM', holdOn).on('SIGHUP', holdOn);
  let explanation: RssExplanation;
  try {
    explanation = await snapshot(target.pid, options, io);
  } finally {
    process.off('SIGINT', holdOn).off('SIGTERM', holdOn).off('SIGHUP', holdOn);
    // The snapshot is taken: the command is ended, as Ctrl-C would have ended it.
    target.signal(moment === 'signal' ? 'SIGINT' : 'SIGTERM');
  }
  const exit = await endCommand(target, io);
  io.stderr.write(`memtrace: the command ${describeExit(exit)} after the snapshot (RSS ${formatBytes(explanation.rssBytes)})\n`);
  return report(explanation, options, io);
}

/** The command's exit once told to end; SIGKILL after END_GRACE_MS, as a command may ignore the signal. */
async function endCommand(target: PlainTarget, io: Io): Promise<TargetExit> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((resolve) => (timer = setTimeout(() => resolve('grace'), END_GRACE_MS)));
  const first = await Promise.race([target.exited, grace]);
  clearTimeout(timer);
  if (first !== 'grace') return first;
  io.stderr.write(`memtrace: the command still runs ${END_GRACE_MS / 1000} s after it was told to end: SIGKILL\n`);
  target.signal('SIGKILL');
  return target.exited;
}

async function snapshot(pid: number, options: ExplainOptions, io: Io): Promise<RssExplanation> {
  const nodeHeap = await readNodeHeap(pid, options.attachInspector, io.stderr);
  return explainProcess(pid, { nodeHeap });
}

/** Writes every report asked for; a snapshot taken is exit code 0. */
async function report(explanation: RssExplanation, options: ExplainOptions, io: Io): Promise<number> {
  await writeFamilyReports(EXPLAIN_REPORTS, explanation, options.reports, {}, io);
  return 0;
}

function requireProcess(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw new TargetError(`no process ${pid}`);
  }
}

/** Waits for the duration (or forever), a Ctrl-C (SIGINT, SIGTERM, SIGHUP to memtrace), or the command's exit. */
async function waitFor(durationMs: number | null, target: Pick<PlainTarget, 'exited'>): Promise<'duration' | 'signal' | 'exited'> {
  let onSignal: () => void = () => {};
  const signalled = new Promise<'signal'>((resolve) => {
    onSignal = () => resolve('signal');
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGHUP', onSignal);
  });
  const waits: Array<Promise<'duration' | 'signal' | 'exited'>> = [signalled];
  let timer: NodeJS.Timeout | undefined;
  if (durationMs !== null) waits.push(new Promise((resolve) => (timer = setTimeout(() => resolve('duration'), durationMs))));
  waits.push(target.exited.then(() => 'exited' as const));
  try {
    return await Promise.race(waits);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onSignal);
  }
}

/**
 * On a terminal, a line that says when the snapshot comes and what the RSS is meanwhile, redrawn
 * every second while memtrace waits; nothing on a pipe or a file.
 */
function startCountdown(pid: number, durationMs: number | null, stderr: NodeJS.WriteStream): { stop: () => void } {
  if (stderr.isTTY !== true) return { stop: () => {} };
  let statm: StatmReader | null = null;
  try {
    statm = new StatmReader(pid);
  } catch {
    return { stop: () => {} };
  }
  const started = Date.now();
  const draw = (): void => {
    const rss = statm?.read()?.rss;
    const left = durationMs === null ? 'at Ctrl-C' : `in ${Math.max(0, Math.ceil((durationMs - (Date.now() - started)) / 1000))} s`;
    stderr.write(`\r\u001b[2K[memtrace explain] PID ${pid}: snapshot ${left}${rss === undefined ? '' : `, RSS ${formatBytes(rss)}`}`);
  };
  draw();
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      statm?.close();
      stderr.write('\r\u001b[2K');
    },
  };
}

/** Settles when a process memtrace did not start is gone (polled: it is no child to wait for). */
function processGone(pid: number): Promise<TargetExit> {
  return new Promise((resolve) => {
    // A zombie is gone too: its memory is, and a parent that never waits would keep it forever.
    const timer = setInterval(() => {
      void isAlive(pid).then((alive) => {
        if (alive) return;
        clearInterval(timer);
        resolve({ code: null, signal: null });
      });
    }, 100);
    timer.unref();
  });
}

function describeExit(exit: TargetExit): string {
  return exit.signal !== null ? `died of ${exit.signal}` : `exited with code ${exitCodeOf(exit)}`;
}
