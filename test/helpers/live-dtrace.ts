// Live tests of a real DTrace (DTrace for Linux here) run only when MEMTRACE_DTRACE_LIVE names a dtrace:
// the dtrace wrapper that `memtrace setup-bpftrace --include-dtrace` leaves beside the private bpftrace.
// Without it they are skipped with the reason in their title, unless MEMTRACE_REQUIRE_LIVE=1 (CI), where
// that is a failure.
import { execa, type Options } from 'execa';
import { DTRACE_LEAN_ENV } from '../../src/run/private-bpftrace.js';
import { gated } from './gate.js';

/** The dtrace the live tests run (MEMTRACE_DTRACE_LIVE), or null when none is given. */
export function liveDtrace(): string | null {
  const path = process.env.MEMTRACE_DTRACE_LIVE;
  return path === undefined || path === '' ? null : path;
}

const NO_DTRACE = 'no real DTrace: set MEMTRACE_DTRACE_LIVE to a dtrace (memtrace setup-bpftrace --include-dtrace)';

/** `test.serial` when a real dtrace is given; otherwise the one gate's skip or failure (gate.ts). */
export const liveDtraceTest = gated(liveDtrace() === null ? NO_DTRACE : null);

/**
 * The live dtrace run on `args` as memtrace runs it: with DTRACE_LEAN_ENV, so a set-up root's wrapper
 * gives it the lean libdir, without D library files (memtrace's programs and scripts use none; the
 * whole libdir costs 2-7 s a run, test/dtrace-live/setup.test.ts).
 */
export function runDtrace<T extends Options>(args: string[], options: T) {
  return execa(liveDtrace()!, args, { ...options, env: { ...DTRACE_LEAN_ENV, ...options.env } });
}
