// Runs one memtrace tracing command with a fault injected at a chosen moment, and gathers what the
// fault-injection tests check: memtrace's exit and message, the report (if any), which phase the
// fault actually hit (a moment picked "during attach" may land just after BEGIN: the test asks
// what memtrace saw), and every process memtrace started, to check none is left behind.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { memtrace, waitForLine } from './cli.js';
import { DescendantWatch, sleep, type ProcessInfo } from './processes.js';
import { buildWorkload } from './workloads.js';

export type Phase = 'attach' | 'tracing' | 'printing';

export function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-fault-')), name);
}

/** known-allocs held before its allocations until SIGUSR1 (as test/cli/cli-malloc-attach does). */
export async function startWaitingWorkload(args: string[] = []) {
  const target = execa(buildWorkload('known-allocs'), ['--wait', ...args], { reject: false });
  const ready = await waitForLine(target.stdout!, /^ready \d+$/);
  return { target, pid: Number(ready.split(' ')[1]) };
}

export interface FaultRun {
  session: ResultPromise;
  watch: DescendantWatch;
  /** memtrace's standard error so far, as it arrives. */
  stderr: () => string;
  stdout: () => string;
  /** True once memtrace said it is tracing (BEGIN seen). */
  tracing: () => boolean;
  /** True once memtrace has exited: the waits below stop there instead of polling out their minute. */
  ended: () => boolean;
  /**
   * The tracing bpftrace under memtrace, once seen. Fails at once, with memtrace's exit and stderr,
   * when memtrace ends before one is seen (a tracer that died at start, memtrace refusing): waiting
   * out the watch's minute would hide why.
   */
  tracer: () => Promise<ProcessInfo>;
}

/** Starts memtrace with `args` and watches its descendants. */
export function startMemtrace(args: string[], env: Record<string, string> = {}): FaultRun {
  const session = memtrace(args, { env, timeout: 150_000 });
  let stderr = '';
  let stdout = '';
  session.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  session.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const watch = new DescendantWatch(session.pid!);
  let over = false;
  void session.then(
    () => (over = true),
    () => (over = true),
  );
  const ended = session.then((result) => {
    throw new Error(`memtrace ended (exit ${result.exitCode ?? result.signal}) before a tracing bpftrace was seen under it:\n${stderr}`);
  });
  // Only the race below reads `ended`; a run that goes on normally must not leave it unhandled.
  ended.catch(() => {});
  const tracer = () => Promise.race([watch.bpftrace(60_000, () => over), ended]);
  return {
    session,
    watch,
    stderr: () => stderr,
    stdout: () => stdout,
    tracing: () => /memtrace: tracing/.test(stderr),
    ended: () => over,
    tracer,
  };
}

/** Waits until memtrace has said it is tracing; returns the traced PID. */
export async function untilTracing(run: FaultRun, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Read once more after memtrace ended: it may have said so just before.
    const ended = run.ended();
    const match = /memtrace: tracing .*?PID (\d+)/.exec(run.stderr());
    if (match) return Number(match[1]);
    if (ended) throw new Error(`memtrace ended before it started tracing:\n${run.stderr()}`);
    if (Date.now() >= deadline) throw new Error(`memtrace did not start tracing within ${timeoutMs} ms:\n${run.stderr()}`);
    await sleep(5);
  }
}

/** The JSON report at `path`, or null when memtrace wrote none. */
export function readReport<T>(path: string): T | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
}

/** After memtrace exits: lets the kernel and the guard act, then lists what still runs. */
export async function leftoversAfter(run: FaultRun, except: number[] = []): Promise<string[]> {
  run.watch.poll();
  run.watch.stop();
  await sleep(400);
  return run.watch.leftovers(except);
}
