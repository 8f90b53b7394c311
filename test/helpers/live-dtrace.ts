// Live tests of a real DTrace (DTrace for Linux here) run only when MEMTRACE_DTRACE_LIVE names a dtrace:
// the dtrace wrapper that `memtrace setup-bpftrace --include-dtrace` leaves beside the private bpftrace.
// Without it they are skipped with the reason in their title, unless MEMTRACE_REQUIRE_LIVE=1 (CI), where
// that is a failure.
import test from 'ava';

/** The dtrace the live tests run (MEMTRACE_DTRACE_LIVE), or null when none is given. */
export function liveDtrace(): string | null {
  const path = process.env.MEMTRACE_DTRACE_LIVE;
  return path === undefined || path === '' ? null : path;
}

const NO_DTRACE = 'no real DTrace: set MEMTRACE_DTRACE_LIVE to a dtrace (memtrace setup-bpftrace --include-dtrace)';

/** `test.serial` when a real dtrace is given; otherwise skipped with the reason, or failed under MEMTRACE_REQUIRE_LIVE=1. */
export const liveDtraceTest: typeof test.serial = (liveDtrace() !== null
  ? test.serial
  : process.env.MEMTRACE_REQUIRE_LIVE === '1'
    ? (title: string) => test.serial(title, (t) => t.fail(`${NO_DTRACE} (MEMTRACE_REQUIRE_LIVE=1)`))
    : (title: string, ...rest: unknown[]) => (test.skip as (...args: unknown[]) => void)(`${title} (skipped: ${NO_DTRACE})`, ...rest)) as typeof test.serial;
