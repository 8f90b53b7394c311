// Which test files may run beside others. `npm test` runs three passes:
//   1. PURE and QUIET files, as many at once as the machine has cores (ava.pure.config.mjs);
//   2. PAIRED files, two at a time (ava.paired.config.mjs);
//   3. every other file, one at a time (ava.live.config.mjs).
// A file not named here runs alone: that is the safe default for a new live test.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Pure: they read fixtures, render, parse and check the code's layout, and start no tracer, no
 * browser and no timed target.
 */
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

/**
 * Quiet: they start processes (memtrace on recorded logs, fake roots, generators), but no tracer
 * and nothing whose timing they measure, so a loaded machine cannot fail them.
 */
export const QUIET = [
  'test/cli/cli-report.test.ts',
  'test/cli/cli-report-bpftrace.test.ts',
  'test/cli/cli-report-cpymemtrace.test.ts',
  'test/cli/cli-report-diff.test.ts',
  'test/cli/cli-report-dtrace.test.ts',
  'test/cli/cli-report-folded.test.ts',
  'test/cli/cli-report-process.test.ts',
  'test/cli/cli-report-push.test.ts',
  'test/cli/cli-report-pymalloc-dtrace.test.ts',
  'test/cli/cli-report-timeline.test.ts',
  'test/cli/main.test.ts',
  'test/compat/fixtures-0.23.test.ts',
  'test/compat/fixtures-0.27.test.ts',
  'test/probes/calls-spec.test.ts',
  'test/probes/render-loader-gate-bpf.test.ts',
  'test/probes/render-malloc-d.test.ts',
  'test/probes/render-pymalloc-d.test.ts',
  'test/probes/validate.test.ts',
  'test/run/apt-sources.test.ts',
  'test/run/dtrace.test.ts',
  'test/run/dtrace-discovery.test.ts',
  'test/run/private-bpftrace.test.ts',
  'test/run/python-launch.test.ts',
  'test/run/stack-unwinder.test.ts',
];

/**
 * Paired: live tests that trace only targets of their own, filter by their PIDs, and read nothing
 * system-wide (no uprobe_events, no other process's tracer, no elapsed time). Two of them at once
 * give the same figures: with bpftrace 0.17 each one's uprobes also fire in the other's target, and
 * its program drops those by PID. Most of their time is the kernel's: bpftrace 0.17 spends ~0.1 s
 * a probe attaching and again detaching (a grace period each), which two files wait out together.
 * Fault injection pairs too: each test watches only memtrace's own descendants and the uprobe_events
 * entries of its own dtrace, and accepts whichever phase a seeded kill lands in (it asks what memtrace
 * saw), so a neighbour's load moves the moment, not the verdict. DTrace for Linux's pid probes are
 * per process. Their first two pairings each failed cli-gc's Ctrl-C test, on what the test compared,
 * not on what it is about. First it counted 22 of 23 collections: bpftrace, behind under the load,
 * dropped a record it read after the SIGINT, which memtrace now waits out (test/faults/stop-unread,
 * which holds a core, stays alone). Then the idle target's VmRSS, read after the trace, was 1.2 MB
 * above its last collection's: idling grows it; the test now compares the target's own reading as
 * its last gc() returned, which the probe's equals to the byte. Timed sampling, growth rates
 * (--timeline: a loaded machine moves a node target's collections, and churned Buffers then look like
 * growth) and anything that looks at every process stay alone.
 */
export const PAIRED = [
  'test/cli/cli-calls.test.ts',
  'test/cli/cli-explain.test.ts',
  'test/cli/cli-external.test.ts',
  'test/cli/cli-faults.test.ts',
  'test/cli/cli-faults-bad-input.test.ts',
  'test/cli/cli-gc.test.ts',
  'test/cli/cli-malloc-attach.test.ts',
  'test/cli/cli-malloc-bad-input.test.ts',
  'test/cli/cli-malloc-js.test.ts',
  'test/cli/cli-malloc-launch.test.ts',
  'test/cli/cli-malloc-map-sizes.test.ts',
  'test/cli/cli-malloc-no-frame-pointers.test.ts',
  'test/cli/cli-malloc-terminal.test.ts',
  'test/cli/cli-ownership.test.ts',
  'test/dtrace-live/compile.test.ts',
  'test/dtrace-live/dtrace-faults.test.ts',
  'test/dtrace-live/malloc.test.ts',
  'test/dtrace-live/pymalloc.test.ts',
  'test/dtrace-live/setup.test.ts',
  'test/faults/bpftrace-killed.test.ts',
  'test/faults/fake-tracer.test.ts',
  'test/faults/memtrace-killed.test.ts',
  'test/faults/target-faults.test.ts',
  'test/faults/two-sessions.test.ts',
  'test/package/pack-install.test.ts',
  'test/probes/render-calls-bpf.test.ts',
  'test/probes/render-external-bpf.test.ts',
  'test/probes/render-faults-bpf.test.ts',
  'test/probes/render-gc-bpf.test.ts',
  'test/probes/render-malloc-bpf.test.ts',
  'test/realprog/node-jit-dwarf.test.ts',
  'test/realprog/nofp-chain.test.ts',
  'test/realprog/python-attach-dwarf.test.ts',
  'test/realprog/sqlite3-valgrind.test.ts',
  'test/realprog/stacks-option.test.ts',
];

/** A PURE entry's folder ('test/parse/' of 'test/parse/**\/*.test.ts'); PURE holds only such globs. */
function pureFolder(glob) {
  const folder = /^(test\/[\w-]+\/)\*\*\/\*\.test\.ts$/.exec(glob);
  if (folder === null) throw new Error(`a PURE entry that is not a folder's glob: ${glob}`);
  return folder[1];
}

/** Whether `file` (from the repository's root) is under one of PURE's folders. */
export function inPureFolder(file) {
  return PURE.some((glob) => file.startsWith(pureFolder(glob)));
}

/**
 * The passes that name `file`: 'all cores' (PURE but NOT_PURE, and QUIET) and 'paired'. More than
 * one is a mistake (test/layout/suites.test.ts); none means it runs alone.
 */
export function passesNaming(file) {
  return [
    (inPureFolder(file) && !NOT_PURE.includes(file)) || QUIET.includes(file) ? 'all cores' : null,
    PAIRED.includes(file) ? 'paired' : null,
  ].filter((pass) => pass !== null);
}

/** Every test file under `root`'s test/ (fixtures and workloads hold none), from `root`, sorted. */
export function testFiles(root, directory = join(root, 'test')) {
  return readdirSync(directory, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'workloads' ? [] : testFiles(root, path);
      return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
    })
    .sort();
}
