// Which test files are pure: they read fixtures, render, parse and check the code's layout, and
// start no tracer, no browser and no timed target, so several may run at once (one a core)
// without disturbing each other. Everything else runs one file at a time (ava.config.mjs).
export const PURE = [
  'test/parse/**/*.test.ts',
  'test/model/**/*.test.ts',
  'test/layout/**/*.test.ts',
  'test/docs/**/*.test.ts',
  'test/props/**/*.test.ts',
  'test/report/**/*.test.ts',
  'test/tools/**/*.test.ts',
  'test/symbols/**/*.test.ts',
];

/** Files under PURE's folders that are not: bpftrace, a browser, go or Prometheus. */
export const NOT_PURE = [
  'test/report/explain-html.test.ts',
  'test/report/flamegraph-svg.test.ts',
  'test/report/pprof.test.ts',
  'test/report/prometheus.test.ts',
  'test/report/series.test.ts',
  'test/report/stack-html.test.ts',
  'test/tools/common/allocation-trace.test.ts',
  'test/symbols/elf-alias.test.ts',
];
