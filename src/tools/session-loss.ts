// What a tracing session's end means for its report: why the report is partial, in words that say
// what was lost. One wording for every bpftrace tool (malloc, external, faults, gc, calls), and one
// stderr line, so a report written to a file is never partial without memtrace saying so.
import type { SessionEnd } from '../run/trace-session.js';

/**
 * The partial reason of a session's report, or null when the trace ended as planned. `interrupted`
 * is appended to an interruption (gc says "the collections until then").
 */
export function describeSessionLoss(end: SessionEnd, truncated = false, interrupted = ''): string | null {
  if (end.reason === 'signal') {
    // bpftrace exits 0 once it has printed its maps after our SIGINT; anything else (killed, or a
    // crash) happened while it printed them, and the report must not pass for merely interrupted.
    const died = tracerDied(end) ? `; then bpftrace ${howTracerEnded(end)} while printing its maps: what it had not printed is lost` : '';
    return `interrupted by ${end.signal}${interrupted}${died}`;
  }
  if (end.reason === 'tracer-died') return `bpftrace ${howTracerEnded(end)}: what it had not printed is lost`;
  if (truncated) return 'the tracer output ended in the middle of a record';
  return null;
}

/** Tells the user on stderr that the report just written is partial, and why. */
export function announcePartial(stderr: { write(text: string): unknown }, reason: string | null): void {
  if (reason !== null) stderr.write(`memtrace: the report is partial: ${reason}\n`);
}

/** bpftrace failed (died mid-trace, or while printing after an interruption): exit code 4 for an attached target. */
export function tracerFailed(end: SessionEnd): boolean {
  return end.reason === 'tracer-died' || (end.reason === 'signal' && tracerDied(end));
}

function tracerDied(end: SessionEnd): boolean {
  return end.tracerExit.signal !== null || (end.tracerExit.code ?? 0) !== 0;
}

function howTracerEnded(end: SessionEnd): string {
  const how = end.tracerExit.signal !== null ? `was killed by ${end.tracerExit.signal}` : `exited with code ${end.tracerExit.code}`;
  return end.tracerErrors[0] ? `${how} (${end.tracerErrors[0]})` : how;
}
