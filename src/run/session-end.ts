// How a tracing session ends, one way for bpftrace's session (trace-session.ts) and DTrace's
// (dtrace.ts): why it ended, how the tracer exited, and how memtrace stops a tracer. The sessions
// differ only in what they start and read; the tools' reports (tools/common/session-loss.ts and
// malloc's DTrace path) read the ending through these types.
import { UsageError } from '../errors.js';
import { finishingGuard, STOP_SIGNALS } from './finishing-guard.js';
import { safeKill } from './target.js';

/**
 * Why a trace ended: its target exited, its duration ran out, memtrace got a signal, or the tracer
 * exited by itself (cleanly: `tracer-exited`; not: `tracer-died`).
 */
export type EndReason = 'target-exited' | 'duration' | 'signal' | 'tracer-exited' | 'tracer-died';

/** The tracer's exit: a code, or the signal that killed it. */
export interface TracerExit {
  code: number | null;
  signal: string | null;
}

/** What every session reports at its end; each session adds what only it knows. */
export interface SessionEndCommon {
  reason: EndReason;
  /** The signal memtrace received, when reason is `signal`. */
  signal: NodeJS.Signals | null;
  tracerExit: TracerExit;
  /** The tracer's standard error, without its harmless notices. */
  tracerErrors: string[];
  /**
   * memtrace's stop went to a tracer that had not caught up with its probes in time (bpftrace not
   * idle within a second: tracer-settle.ts): records it had not read may be missing, uncounted.
   */
  stoppedBehind: boolean;
}

/** A stop memtrace asked for, and the signal it received for it (reason `signal`). */
export interface StopRequest {
  reason: EndReason;
  signal: NodeJS.Signals | null;
}

/**
 * The reason of an ending: the stop memtrace asked for if any; else the tracer's failure; else the
 * target's exit; else the program's own end at its duration (or, with none, the tracer's own end).
 */
export function endReasonOf(
  request: StopRequest | null,
  tracerExit: TracerExit,
  targetGone: boolean,
  durationMs: number | null,
): EndReason {
  if (request !== null) return request.reason;
  if (tracerExit.signal !== null || (tracerExit.code ?? 0) !== 0) return 'tracer-died';
  if (targetGone) return 'target-exited';
  return durationMs !== null ? 'duration' : 'tracer-exited';
}

/**
 * How long a tracer may take to print its results after it was asked to stop before memtrace sends
 * SIGTERM, and SIGKILL at twice that: 15 s, unless MEMTRACE_STOP_GRACE (seconds, 0.1 to 3600) says
 * otherwise. A tracer with millions of map entries to print may need longer on a slow machine; the
 * tests of a deaf tracer use less.
 */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): { termMs: number; killMs: number } {
  const text = env.MEMTRACE_STOP_GRACE;
  if (text === undefined || text === '') return { termMs: 15_000, killMs: 30_000 };
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(seconds >= 0.1 && seconds <= 3600)) {
    throw new UsageError(`MEMTRACE_STOP_GRACE: expected seconds from 0.1 to 3600, got ${JSON.stringify(text)}`);
  }
  return { termMs: seconds * 1000, killMs: seconds * 2000 };
}

/**
 * Stops a tracer: the first stop sends the signal that makes it print what it gathered (the
 * session's `firstSignal`, once its `settle` step, if any, is over), then SIGTERM after the grace
 * and SIGKILL at twice it; a second Ctrl-C sends SIGTERM at once. A stop asked before the tracer
 * runs is carried out when it starts.
 * SIGINT, SIGTERM and SIGHUP to memtrace are stops for the time of `listen`.
 */
export class TracerStopper {
  request: StopRequest | null = null;
  private tracerPid: number | undefined;
  private escalation: NodeJS.Timeout[] = [];
  /** Read at the start: a bad MEMTRACE_STOP_GRACE is a usage error before anything runs, not in the middle of stopping. */
  private readonly grace = stopGraceMs();

  private stoodDown = false;
  /** The first signal went before the tracer had settled (SessionEndCommon.stoppedBehind). */
  stoppedBehind = false;

  /**
   * `settle`, when given, is awaited before the first signal (bpftrace's: tracer-settle.ts says
   * why), and says whether the tracer caught up; the SIGTERM and SIGKILL that follow are timed from
   * that signal.
   */
  constructor(
    private readonly firstSignal: (reason: EndReason) => NodeJS.Signals,
    private readonly settle?: (pid: number) => Promise<boolean>,
  ) {}

  /**
   * Turns memtrace's own SIGINT, SIGTERM and SIGHUP into stops until the returned function is
   * called; from then on the finishing guard keeps a signal from losing the report being written.
   */
  listen(): () => void {
    const onSignal = (signal: NodeJS.Signals) => this.stop('signal', signal);
    const guardTakesOver = finishingGuard.sessionListens();
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    return () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      guardTakesOver();
      this.standDown();
    };
  }

  /** The tracer now runs as `pid`. */
  tracerStarted(pid: number): void {
    this.tracerPid = pid;
    if (this.request !== null) this.signalTracer(pid, this.request.reason);
  }

  stop(reason: EndReason, signal: NodeJS.Signals | null = null): void {
    if (this.request !== null) {
      // A second Ctrl-C: the user wants out now.
      if (reason === 'signal' && this.tracerPid !== undefined) safeKill(this.tracerPid, 'SIGTERM');
      return;
    }
    this.request = { reason, signal };
    if (this.tracerPid !== undefined) this.signalTracer(this.tracerPid, reason);
  }

  /** No SIGTERM or SIGKILL is timed any more: the tracer prints its results as after its program's own end. */
  standDown(): void {
    this.stoodDown = true;
    for (const timer of this.escalation) clearTimeout(timer);
    this.escalation = [];
  }

  private signalTracer(pid: number, reason: EndReason): void {
    const send = () => {
      // Stood down while settling: the tracer ended or prints its results, and must not be cut.
      if (this.stoodDown) return;
      safeKill(pid, this.firstSignal(reason));
      this.escalation.push(
        setTimeout(() => safeKill(pid, 'SIGTERM'), this.grace.termMs).unref(),
        setTimeout(() => safeKill(pid, 'SIGKILL'), this.grace.killMs).unref(),
      );
    };
    if (this.settle === undefined) send();
    else
      void this.settle(pid).then((caughtUp) => {
        if (!caughtUp && !this.stoodDown) this.stoppedBehind = true;
        send();
      }, send);
  }
}

/** The line every tool's program prints when its trace ends, before its results. */
export const PROGRAM_END_MARKER = 'memtrace:end';

/** How long past --duration the tracer may run before memtrace stops it: the program ends itself first. */
const DURATION_SLACK_MS = 2_000;

/**
 * memtrace's backstop to a program's own end at --duration: stops the tracer if the program did
 * not end itself in time. It stands down once the program printed PROGRAM_END_MARKER: the tracer
 * is then printing its results, which may take longer than the slack on a loaded machine, and a
 * SIGINT would cut them (seen in CI).
 *
 * The marker can still be on its way when the timer fires. bpftrace 0.17 runs BEGIN before it
 * attaches its uprobes and starts the program's timer after them, so where attaching takes about
 * the slack (2 s on node, in CI) the program ends just as the backstop fires. The bpftrace session
 * therefore stops with SIGTERM on the backstop: every bpftrace from 0.17 to 0.27 ends its run on
 * SIGTERM as on SIGINT, and keeps ignoring SIGTERM once it prints its results, where it restores
 * SIGINT's default and dies of it (seen in CI: a whole trace reported partial, exit 4). dtrace keeps
 * its handler to the end (dtrace.c's intr(): a second signal only makes it hurry), so its session
 * keeps SIGINT.
 */
export class DurationBackstop {
  private timer: NodeJS.Timeout | null = null;
  private ended = false;

  /** Starts the timer when tracing begins (nothing when there is no duration). */
  arm(durationMs: number | null, stop: () => void): void {
    if (durationMs !== null) this.timer = setTimeout(stop, durationMs + DURATION_SLACK_MS);
  }

  /** Each output line: the end marker disarms the timer. True for the end marker's line, once. */
  see(line: string): boolean {
    if (this.ended || !line.startsWith(PROGRAM_END_MARKER)) return false;
    this.ended = true;
    this.clear();
    return true;
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
