// The tests' one gate. A test that needs something this machine may lack (root, a bpftrace, a real
// DTrace, a peer program) runs where it is here; elsewhere it is skipped with the reason in its
// title, or, under MEMTRACE_REQUIRE_LIVE=1 (CI, which installs everything and skips nothing it can
// run), fails with that reason. What CI itself does not give (a 0.26 bpftrace named by hand, a
// real debootstrap set-up) is `optional`: skipped with its reason in CI too.
import test from 'ava';

export type TestFunction = typeof test.serial;

export interface GateOptions {
  /** The test function when the gate is open: test.serial unless the file's tests may run at once. */
  base?: TestFunction;
  /** Skipped even under MEMTRACE_REQUIRE_LIVE=1: CI does not provide it. */
  optional?: boolean;
}

/** `problem` is null when the test can run here, else what is missing and how to get it. */
export function gated(problem: string | null, options: GateOptions = {}): TestFunction {
  const base = options.base ?? test.serial;
  if (problem === null) return base;
  if (process.env.MEMTRACE_REQUIRE_LIVE === '1' && options.optional !== true) {
    // Called as the test would be, (title, implementation): the implementation is not run.
    return ((title: string, ..._implementation: unknown[]) =>
      base(title, (t) => t.fail(`${problem}; MEMTRACE_REQUIRE_LIVE=1 needs it`))) as TestFunction;
  }
  return ((title: string, ...rest: unknown[]) =>
    (test.skip as (...args: unknown[]) => void)(`${title} (skipped: ${problem})`, ...rest)) as TestFunction;
}

/** Root, or why not. */
export const ROOT_PROBLEM: string | null = process.getuid?.() === 0 ? null : 'not root';
