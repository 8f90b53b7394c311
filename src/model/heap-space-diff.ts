// The HeapSpaceDiff model: V8's heap figures either side of a block (or of a whole run), the
// tool's own noise, and the differences that matter. Produced by heapStats() and
// `memtrace heap-stats`, rendered by the heap-stats table, json and tsv reports.

export interface HeapStatsThresholds {
  /** A byte value must move by at least this much, after the noise is taken off. */
  minBytes: number;
  /** ... and by at least this fraction of its value before (0.01 = 1%). */
  minRelative: number;
}

export const DEFAULT_THRESHOLDS: HeapStatsThresholds = { minBytes: 64 * 1024, minRelative: 0.01 };

export interface HeapStatsDifference {
  name: string;
  unit: 'bytes' | 'count';
  before: number;
  after: number;
  /** after − before. */
  delta: number;
  /** How much the value moved around an empty block: taken off the delta. */
  noise: number;
  /** The delta with the noise taken off (towards zero). */
  adjusted: number;
  /** adjusted / before (Infinity when it grew from zero). */
  relative: number;
}

export interface HeapSpaceDiff {
  header: {
    tool: 'heap-stats';
    /** The block measured: "block" for the API, the command for the CLI. */
    target: { pid: number; command?: string[] };
    start: string;
    host: string;
    node: string;
    /** Whether a full GC ran before each snapshot. */
    gc: boolean;
    durationSeconds: number;
  };
  thresholds: HeapStatsThresholds;
  before: Record<string, number>;
  after: Record<string, number>;
  noise: Record<string, number>;
  /** Significant differences, largest adjusted change first (all of them with --all). */
  differences: HeapStatsDifference[];
  /** Values compared, and how many of them stayed under the thresholds. */
  compared: number;
  belowThreshold: number;
  /** The block threw: its message (the report is still made, the error re-thrown). */
  error?: string;
}

/**
 * Compares two snapshots. `noiseBefore`/`noiseAfter` are snapshots around an empty block, taken
 * the same way: how much each value moves when nothing happens is taken off its delta.
 */
export function diffSnapshots(options: {
  before: Record<string, number>;
  after: Record<string, number>;
  noise: Record<string, number>;
  thresholds: HeapStatsThresholds;
  countFields: readonly string[];
  all: boolean;
}): { differences: HeapStatsDifference[]; compared: number; belowThreshold: number } {
  const names = [...new Set([...Object.keys(options.before), ...Object.keys(options.after)])];
  const differences: HeapStatsDifference[] = [];
  let belowThreshold = 0;
  for (const name of names) {
    const before = options.before[name] ?? 0;
    const after = options.after[name] ?? 0;
    const delta = after - before;
    const noise = Math.abs(options.noise[name] ?? 0);
    const adjusted = Math.sign(delta) * Math.max(0, Math.abs(delta) - noise);
    const relative = before === 0 ? (adjusted === 0 ? 0 : Infinity) : adjusted / before;
    const unit = options.countFields.includes(name) ? 'count' : 'bytes';
    const significant =
      adjusted !== 0 &&
      Math.abs(adjusted) >= (unit === 'count' ? 1 : options.thresholds.minBytes) &&
      Math.abs(relative) >= options.thresholds.minRelative;
    if (!significant) belowThreshold += 1;
    if (significant || options.all) differences.push({ name, unit, before, after, delta, noise, adjusted, relative });
  }
  differences.sort((a, b) => Math.abs(b.adjusted) - Math.abs(a.adjusted) || a.name.localeCompare(b.name));
  return { differences, compared: names.length, belowThreshold };
}

/** The per-value noise: the largest move of each value over snapshots taken around empty blocks. */
export function snapshotNoise(snapshots: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const noise: Record<string, number> = {};
  for (let index = 1; index < snapshots.length; index += 1) {
    const [before, after] = [snapshots[index - 1]!, snapshots[index]!];
    for (const name of Object.keys(after)) noise[name] = Math.max(noise[name] ?? 0, Math.abs((after[name] ?? 0) - (before[name] ?? 0)));
  }
  return noise;
}

/** Snapshots around empty blocks used to measure the noise (the largest of their moves is kept). */
export const NOISE_SNAPSHOTS = 6;
