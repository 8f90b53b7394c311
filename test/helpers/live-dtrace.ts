// Live tests of a real DTrace (DTrace for Linux here) run only when MEMTRACE_DTRACE_LIVE names a dtrace:
// the dtrace wrapper that `memtrace setup-bpftrace --include-dtrace` leaves beside the private bpftrace.
// Without it they are skipped with the reason in their title, unless MEMTRACE_REQUIRE_LIVE=1 (CI), where
// that is a failure.
import { gated } from './gate.js';

/** The dtrace the live tests run (MEMTRACE_DTRACE_LIVE), or null when none is given. */
export function liveDtrace(): string | null {
  const path = process.env.MEMTRACE_DTRACE_LIVE;
  return path === undefined || path === '' ? null : path;
}

const NO_DTRACE = 'no real DTrace: set MEMTRACE_DTRACE_LIVE to a dtrace (memtrace setup-bpftrace --include-dtrace)';

/** `test.serial` when a real dtrace is given; otherwise the one gate's skip or failure (gate.ts). */
export const liveDtraceTest = gated(liveDtrace() === null ? NO_DTRACE : null);
