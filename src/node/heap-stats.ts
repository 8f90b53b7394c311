// heapStats(): V8's heap figures either side of a block, and only the differences that matter —
// pymemtrace's debug_malloc_stats for V8.
//
//   const { result, report } = await heapStats(() => buildIndex(docs));
//   console.log(report.table());
//
// Before each snapshot full GCs run until the heap settles (unless { gc: false }), so that garbage
// does not show as growth. The tool's own noise is measured first, by the same snapshots around an empty block, and
// taken off every difference. If the block throws, the report is still made, attached to the
// error as `error.memtraceReport`, and the error re-thrown.
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import {
  DEFAULT_THRESHOLDS,
  diffSnapshots,
  NOISE_SNAPSHOTS,
  snapshotNoise,
  type HeapSpaceDiff,
  type HeapStatsThresholds,
} from '../model/heap-space-diff.js';
import { renderHeapStatsTable } from '../report/heap-stats-table.js';
import { runBlock, rethrowWithReport } from './run-block.js';
import { COUNT_FIELDS, settledSnapshot, warmUpSnapshots, type HeapSnapshot } from './heap-snapshot.cjs';

export interface HeapStatsOptions extends Partial<HeapStatsThresholds> {
  /** Run a full GC before each snapshot (default true). */
  gc?: boolean;
  /** Keep every value in `differences`, significant or not. */
  all?: boolean;
}

export interface HeapStatsReport extends HeapSpaceDiff {
  /** The terminal table of the significant differences. */
  table(): string;
  toJSON(): HeapSpaceDiff;
}

export async function heapStats<T>(
  block: () => T | Promise<T>,
  options: HeapStatsOptions = {},
): Promise<{ result: Awaited<T>; report: HeapStatsReport }> {
  if (typeof block !== 'function') throw new UsageError('heapStats: the first argument is the block to measure, a function');
  const thresholds = checkThresholds({
    minBytes: options.minBytes ?? DEFAULT_THRESHOLDS.minBytes,
    minRelative: options.minRelative ?? DEFAULT_THRESHOLDS.minRelative,
  });
  const gc = options.gc !== false;
  const snapshot = (): HeapSnapshot => settledSnapshot(gc);
  // The noise: snapshots around empty blocks run through the same runBlock as the block measured,
  // so that what that path allocates (and its first-call compilation) counts as noise, not growth.
  warmUpSnapshots();
  const noiseSnapshots: HeapSnapshot[] = [snapshot()];
  while (noiseSnapshots.length < NOISE_SNAPSHOTS) {
    await runBlock(() => undefined);
    noiseSnapshots.push(snapshot());
  }
  const noise = snapshotNoise(noiseSnapshots);

  const start = new Date();
  const began = performance.now();
  const before = snapshot();
  const outcome = await runBlock(block);
  const after = snapshot();
  const diff: HeapSpaceDiff = {
    header: {
      tool: 'heap-stats',
      target: { pid: process.pid },
      start: start.toISOString(),
      host: hostname(),
      node: process.version,
      gc,
      durationSeconds: (performance.now() - began) / 1000,
    },
    thresholds,
    before,
    after,
    noise,
    ...diffSnapshots({ before, after, noise, thresholds, countFields: COUNT_FIELDS, all: options.all === true }),
    ...(outcome.threw ? { error: outcome.message } : {}),
  };
  const report = heapStatsReport(diff);
  if (outcome.threw) rethrowWithReport(outcome.error, report);
  return { result: outcome.result, report };
}

/** Gives a HeapSpaceDiff its table() and toJSON(). */
export function heapStatsReport(diff: HeapSpaceDiff): HeapStatsReport {
  return Object.assign(Object.create(null) as object, diff, {
    table: () => renderHeapStatsTable(diff),
    toJSON: () => diff,
  }) as HeapStatsReport;
}

export function checkThresholds(thresholds: HeapStatsThresholds): HeapStatsThresholds {
  if (!(Number.isFinite(thresholds.minBytes) && thresholds.minBytes >= 0))
    throw new UsageError(`heap-stats: the byte threshold must be a number of bytes ≥ 0, got ${thresholds.minBytes}`);
  if (!(Number.isFinite(thresholds.minRelative) && thresholds.minRelative >= 0))
    throw new UsageError(`heap-stats: the relative threshold must be a fraction ≥ 0 (0.01 = 1%), got ${thresholds.minRelative}`);
  return thresholds;
}
