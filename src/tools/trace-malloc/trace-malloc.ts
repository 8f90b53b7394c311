// `memtrace trace-malloc -- node build.js`: V8's sampling heap profiler over a whole Node run,
// through a preload, reduced to allocation sites and stacks, rendered in every format asked for.
import { hostname } from 'node:os';
import { reduceHeapProfile, type GroupBy, type JsHeapReport, type V8HeapProfile } from '../../model/js-heap-profile.js';
import { isOwnFrame } from '../../node/trace-malloc.js';
import { JS_HEAP_REPORTS, type JsHeapFormat } from '../../report/js-heap-index.js';
import { exitCodeOf } from '../../run/launch.js';
import { parsePreloadJson, runWithPreload } from '../common/preload-run.js';
import { writeFamilyReports } from '../common/write-reports.js';

export interface TraceMallocRunOptions {
  command: string[];
  samplingInterval: number;
  mode: 'allocated' | 'retained';
  groupBy: GroupBy;
  top: number;
  reports: Array<{ path: string | null; format: JsHeapFormat }>;
}

interface PreloadRecord {
  pid: number;
  start: string;
  node: string;
  durationSeconds: number;
  samplingInterval: number;
  mode: 'allocated' | 'retained';
  ending: string;
  profile: V8HeapProfile;
}

export async function runTraceMalloc(
  options: TraceMallocRunOptions,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<number> {
  const run = await runWithPreload({
    tool: 'trace-malloc',
    command: options.command,
    env: { MEMTRACE_TRACE_MALLOC_INTERVAL: String(options.samplingInterval), MEMTRACE_TRACE_MALLOC_MODE: options.mode },
    directoryVariable: 'MEMTRACE_TRACE_MALLOC_DIR',
    stdout: options.reports.some((report) => report.path === null) ? 'stderr' : 'inherit',
  });
  const record = parseTraceMallocRecord(run.main.text, run.main.file);
  const reduced = reduceHeapProfile(record.profile, { groupBy: options.groupBy, samplingInterval: record.samplingInterval, isOwnFrame });
  const report: JsHeapReport = {
    header: {
      tool: 'trace-malloc',
      target: { pid: record.pid, command: options.command },
      start: record.start,
      host: hostname(),
      node: record.node,
      durationSeconds: record.durationSeconds,
      samplingInterval: record.samplingInterval,
      mode: record.mode,
      groupBy: options.groupBy,
    },
    sites: reduced.sites,
    stacks: reduced.stacks,
    totals: reduced.totals,
    overhead: { ...reduced.overhead, how: 'samples whose allocating frame is the inspector or memtrace' },
    ...(record.ending === 'exit' ? {} : { error: `the program was ended by ${record.ending}: allocations up to then` }),
  };
  if (run.others.length > 0)
    io.stderr.write(
      `memtrace: ${run.others.length} child Node process(es) also reported (PIDs ${run.others.map((other) => other.pid).join(', ')}); the report is of PID ${record.pid}\n`,
    );
  await writeFamilyReports(JS_HEAP_REPORTS, { report, profile: record.profile }, options.reports, { top: options.top }, io);
  return exitCodeOf(run.exit);
}

/** Checks a preload file; `name` is used in errors (file, line 1, what was expected). */
export function parseTraceMallocRecord(text: string, name: string): PreloadRecord {
  return parsePreloadJson<PreloadRecord>(
    text,
    name,
    'trace-malloc',
    (record) =>
      Number.isInteger(record.pid) &&
      typeof record.samplingInterval === 'number' &&
      typeof record.profile?.head?.callFrame === 'object' &&
      Array.isArray(record.profile?.samples),
    'pid, samplingInterval and a V8 sampling heap profile {head, samples}',
  );
}
