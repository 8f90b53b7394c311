// Live tests run the real bpftrace and need root. Where they cannot run they are skipped with the
// reason logged, unless MEMTRACE_REQUIRE_LIVE=1 (CI), where that is a failure.
import { execFileSync } from 'node:child_process';
import test from 'ava';
import { findPrivateBpftrace } from '../../src/run/private-bpftrace.js';

/**
 * The bpftrace the live tests run, the one memtrace itself finds: MEMTRACE_BPFTRACE when set (the
 * compat run points it at Debian 13's bpftrace, see docs/compat.md), else the private root of
 * `memtrace setup-bpftrace` when there is one, else the one on PATH.
 */
export const LIVE_BPFTRACE = process.env.MEMTRACE_BPFTRACE ?? privateBpftraceOrNull() ?? 'bpftrace';

function privateBpftraceOrNull(): string | null {
  try {
    return findPrivateBpftrace();
  } catch {
    // An untrusted private root: memtrace refuses it, and the tests that run memtrace say so.
    return null;
  }
}

function liveProblem(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync(LIVE_BPFTRACE, ['--version'], { stdio: 'pipe' });
  } catch {
    return 'bpftrace is not installed';
  }
  return null;
}

export const LIVE_PROBLEM = liveProblem();

if (LIVE_PROBLEM !== null && process.env.MEMTRACE_REQUIRE_LIVE === '1') {
  test('live tracing is available (MEMTRACE_REQUIRE_LIVE=1)', (t) => {
    t.fail(`live tracing tests cannot run: ${LIVE_PROBLEM}`);
  });
}

/** `test.serial` when bpftrace can run here, otherwise a skipped test whose title says why. */
export const liveTest: typeof test.serial = (LIVE_PROBLEM === null
  ? test.serial
  : (title: string, ...rest: unknown[]) => (test.skip as (...args: unknown[]) => void)(`${title} (skipped: ${LIVE_PROBLEM})`, ...rest)) as typeof test.serial;

/** bpftrace's warnings but its harmless RLIMIT_MEMLOCK notice (an ERROR in 0.17, a WARNING in 0.23). */
export function tracerWarnings(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('WARNING') && !line.includes('RLIMIT_MEMLOCK'));
}
