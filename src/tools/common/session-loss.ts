// What a tracing session's end means for its report: why the report is partial, in words that say
// what was lost. One wording for every bpftrace tool (malloc, external, faults, gc, calls), and one
// stderr line, so a report written to a file is never partial without memtrace saying so.
import type { SessionEndCommon as SessionEnd } from '../../run/session-end.js';
import { SETTLE_LIMIT_MS } from '../../run/tracer-settle.js';

/**
 * The partial reason of a session's report, or null when the trace ended as planned. `interrupted`
 * is appended to an interruption (gc says "the collections until then").
 */
export function describeSessionLoss(end: SessionEnd, truncated = false, interrupted = ''): string | null {
  if (end.reason === 'tracer-died') return `bpftrace ${howTracerEnded(end)}: what it had not printed is lost`;
  // Asked to stop (a signal, the duration, the target's exit), bpftrace exits 0 once it has printed
  // its maps; anything else (killed, by us after it ignored SIGINT, or a crash) happened while it
  // printed them, and the report must not pass for complete or merely interrupted.
  const died = tracerDied(end) ? `bpftrace ${howTracerEnded(end)} while printing its maps: what it had not printed is lost` : null;
  const behind = end.stoppedBehind ? STOPPED_BEHIND : null;
  if (end.reason === 'signal') {
    return [`interrupted by ${end.signal}${interrupted}`, behind, died === null ? null : `then ${died}`]
      .filter((part) => part !== null)
      .join('; ');
  }
  if (behind !== null) return died === null ? behind : `${behind}; then ${died}`;
  if (died !== null) return died;
  if (truncated) return 'the tracer output ended in the middle of a record';
  return null;
}

/** A stop sent while bpftrace was still reading (run/tracer-settle.ts): it drops what it reads after, uncounted. */
const STOPPED_BEHIND = `bpftrace had not read all its records when it was stopped (it was busy for all of the ${SETTLE_LIMIT_MS / 1000} s memtrace waits): the records it had not read may be missing, and bpftrace does not count them`;

/** Tells the user on stderr that the report just written is partial, and why. */
export function announcePartial(stderr: { write(text: string): unknown }, reason: string | null): void {
  if (reason !== null) stderr.write(`memtrace: the report is partial: ${reason}\n`);
}

/** bpftrace failed (died mid-trace, or while printing its maps at the end): exit code 4 for an attached target. */
export function tracerFailed(end: SessionEnd): boolean {
  return end.reason === 'tracer-died' || tracerDied(end);
}

function tracerDied(end: SessionEnd): boolean {
  return end.tracerExit.signal !== null || (end.tracerExit.code ?? 0) !== 0;
}

function howTracerEnded(end: SessionEnd): string {
  const how = end.tracerExit.signal !== null ? `was killed by ${end.tracerExit.signal}` : `exited with code ${end.tracerExit.code}`;
  return end.tracerErrors[0] ? `${how} (${end.tracerErrors[0]})` : how;
}
