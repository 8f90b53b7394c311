// `memtrace heap-stats -- node script.js`: V8's heap figures at the start and at the end of a
// whole Node run, through a preload, reduced to the differences that matter.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError, TargetError } from '../errors.js';
import { diffSnapshots, snapshotNoise, type HeapSpaceDiff, type HeapStatsThresholds } from '../model/heap-space-diff.js';
import { COUNT_FIELDS } from '../node/heap-snapshot.cjs';
import { nodeOptionsWithPreload, preloadPath, requireNodeCommand } from '../node/node-target.js';
import { renderJson } from '../report/json.js';
import { renderHeapStatsTable } from '../report/heap-stats-table.js';
import { renderHeapStatsTsv } from '../report/heap-stats-tsv.js';
import { exitCodeOf, launchCommand } from '../run/launch.js';
import { writeFile } from 'node:fs/promises';

export type HeapStatsFormat = 'table' | 'json' | 'tsv';

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

export async function runHeapStats(options: HeapStatsRunOptions, io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<number> {
  await requireNodeCommand('heap-stats', options.command, process.env.PATH ?? '');
  const directory = await mkdtemp(join(tmpdir(), 'memtrace-heap-stats-'));
  try {
    const target = await launchCommand({
      command: options.command,
      env: { ...process.env, MEMTRACE_HEAP_STATS_DIR: directory, MEMTRACE_HEAP_STATS_GC: options.gc ? '1' : '0', NODE_OPTIONS: nodeOptionsWithPreload(process.env.NODE_OPTIONS, preloadPath('heap-stats')) },
      stdout: options.reports.some((report) => report.path === null) ? 'stderr' : 'inherit',
    });
    // Ctrl-C reaches the command through the terminal; a signal sent to memtrace alone is passed on.
    const forward = (signal: NodeJS.Signals) => target.signal(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const exit = await target.exited.finally(() => process.off('SIGINT', forward).off('SIGTERM', forward));

    const records = await readRecords(directory);
    const main = records.find((record) => record.pid === target.pid);
    if (main === undefined) {
      throw new TargetError(
        `${options.command[0]} (PID ${target.pid}) ended (${exit.signal ?? `exit code ${exit.code}`}) without reporting its heap figures: it did not start Node.js with memtrace's preload, or it was killed with SIGKILL${records.length > 0 ? `; ${records.length} other Node process(es) reported` : ''}`,
        { exitCode: exit.code === 0 ? 5 : exitCodeOf(exit) },
      );
    }
    const noise = snapshotNoise(main.noise);
    const diff: HeapSpaceDiff = {
      header: { tool: 'heap-stats', target: { pid: main.pid, command: options.command }, start: main.start, host: hostname(), node: main.node, gc: main.gc, durationSeconds: main.durationSeconds },
      thresholds: options.thresholds,
      before: main.before,
      after: main.after,
      noise,
      ...diffSnapshots({ before: main.before, after: main.after, noise, thresholds: options.thresholds, countFields: COUNT_FIELDS, all: options.all }),
      ...(main.ending === 'exit' ? {} : { error: `the program was ended by ${main.ending}: figures at that moment` }),
    };
    const others = records.filter((record) => record !== main);
    if (others.length > 0) io.stderr.write(`memtrace: ${others.length} child Node process(es) also reported (PIDs ${others.map((record) => record.pid).join(', ')}); the report is of PID ${main.pid}\n`);
    for (const report of options.reports) {
      const text = report.format === 'json' ? renderJson(diff) : report.format === 'tsv' ? renderHeapStatsTsv(diff) : renderHeapStatsTable(diff);
      if (report.path === null) io.stdout.write(text);
      else {
        await writeFile(report.path, text);
        io.stderr.write(`memtrace: wrote ${report.path} (${report.format})\n`);
      }
    }
    return exitCodeOf(exit);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function readRecords(directory: string): Promise<PreloadRecord[]> {
  const records: PreloadRecord[] = [];
  for (const name of (await readdir(directory)).filter((file) => /^heap-stats-\d+\.json$/.test(file)).sort()) {
    records.push(parsePreloadRecord(await readFile(join(directory, name), 'utf8'), name));
  }
  return records;
}

/** Checks a preload file; `name` is used in errors (file, line 1, what was expected). */
export function parsePreloadRecord(text: string, name: string): PreloadRecord {
  const fail = (expected: string): never => {
    throw new ParseError({ file: name, lineNumber: 1, format: 'heap-stats preload output', expected, line: text.slice(0, 80) });
  };
  if (text.trim() === '') fail('a JSON object; the file is empty');
  let record: PreloadRecord;
  try {
    record = JSON.parse(text) as PreloadRecord;
  } catch {
    return fail('a JSON object (the file is cut short?)');
  }
  const isSnapshot = (value: unknown) => typeof value === 'object' && value !== null && Object.values(value).every((number) => typeof number === 'number');
  if (!Number.isInteger(record.pid) || !isSnapshot(record.before) || !isSnapshot(record.after) || !Array.isArray(record.noise) || !record.noise.every(isSnapshot)) {
    fail('pid, before and after snapshots of numbers, and noise, a list of them');
  }
  return record;
}
