// `memtrace heap-stats -- node script.js`: V8's heap figures at the start and at the end of a
// whole Node run, through a preload, reduced to the differences that matter.
import { hostname } from 'node:os';
import { diffSnapshots, snapshotNoise, type HeapSpaceDiff, type HeapStatsThresholds } from '../../model/heap-space-diff.js';
import { COUNT_FIELDS } from '../../node/heap-snapshot.cjs';
import { HEAP_STATS_REPORTS, type HeapStatsFormat } from '../../report/heap-stats-index.js';
import { exitCodeOf } from '../../run/launch.js';
import { parsePreloadJson, runWithPreload } from '../common/preload-run.js';
import { writeFamilyReports } from '../common/write-reports.js';

export interface HeapStatsRunOptions {
  command: string[];
  thresholds: HeapStatsThresholds;
  gc: boolean;
  all: boolean;
  reports: Array<{ path: string | null; format: HeapStatsFormat }>;
}

/** What the preload writes, one file per Node process. */
interface PreloadRecord {
  pid: number;
  ppid: number;
  argv: string[];
  node: string;
  start: string;
  durationSeconds: number;
  gc: boolean;
  ending: string;
  before: Record<string, number>;
  after: Record<string, number>;
  /** Snapshots taken back to back at the start: the noise. */
  noise: Array<Record<string, number>>;
}

export async function runHeapStats(
  options: HeapStatsRunOptions,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  const run = await runWithPreload({
    tool: 'heap-stats',
    command: options.command,
    env: { MEMTRACE_HEAP_STATS_GC: options.gc ? '1' : '0' },
    directoryVariable: 'MEMTRACE_HEAP_STATS_DIR',
    stdout: options.reports.some((report) => report.path === null) ? 'stderr' : 'inherit',
  });
  const main = parsePreloadRecord(run.main.text, run.main.file);
  const noise = snapshotNoise(main.noise);
  const diff: HeapSpaceDiff = {
    header: {
      tool: 'heap-stats',
      target: { pid: main.pid, command: options.command },
      start: main.start,
      host: hostname(),
      node: main.node,
      gc: main.gc,
      durationSeconds: main.durationSeconds,
    },
    thresholds: options.thresholds,
    before: main.before,
    after: main.after,
    noise,
    ...diffSnapshots({
      before: main.before,
      after: main.after,
      noise,
      thresholds: options.thresholds,
      countFields: COUNT_FIELDS,
      all: options.all,
    }),
    ...(main.ending === 'exit' ? {} : { error: `the program was ended by ${main.ending}: figures at that moment` }),
  };
  if (run.others.length > 0)
    io.stderr.write(
      `memtrace: ${run.others.length} child Node process(es) also reported (PIDs ${run.others.map((other) => other.pid).join(', ')}); the report is of PID ${main.pid}\n`,
    );
  await writeFamilyReports(HEAP_STATS_REPORTS, diff, options.reports, {}, io);
  return exitCodeOf(run.exit);
}

/** Checks a preload file; `name` is used in errors (file, line 1, what was expected). */
export function parsePreloadRecord(text: string, name: string): PreloadRecord {
  const isSnapshot = (value: unknown) =>
    typeof value === 'object' && value !== null && Object.values(value).every((number) => typeof number === 'number');
  return parsePreloadJson<PreloadRecord>(
    text,
    name,
    'heap-stats',
    (record) =>
      Number.isInteger(record.pid) &&
      isSnapshot(record.before) &&
      isSnapshot(record.after) &&
      Array.isArray(record.noise) &&
      record.noise.every(isSnapshot),
    'pid, before and after snapshots of numbers, and noise, a list of them',
  );
}
