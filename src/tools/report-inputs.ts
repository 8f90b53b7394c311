// The inputs `memtrace report` reads, in the order it tries them. Each input says how it is
// recognised (by an explicit --input-format, by the file's name, then by the head of its content)
// and renders itself: it reads the log into its model and writes the reports asked for.
//
// To add an input: write its reader under src/parse/, its model under src/model/, then one
// ReportInput here (or in its own module under tools/, listed in REPORT_INPUTS).
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { looksLikeCPyMemTraceLog, readCPyMemTraceLog } from '../parse/cpymemtrace-log.js';
import { looksFolded, readFolded } from '../parse/folded.js';
import type { LogHead } from '../parse/first-line.js';
import { looksLikeJsonReport, readMallocJson } from '../parse/malloc-json.js';
import { detectProcessLog, readProcessLog } from '../parse/process-log.js';
import { validateInteger } from '../probes/validate.js';
import { CALL_LOG_EXTENSIONS, CALL_LOG_FORMATS, renderCallLog } from '../report/call-log-index.js';
import { renderStackProfile, STACK_EXTENSIONS, STACK_FORMATS } from '../report/stack-index.js';
import { renderMalloc } from '../report/index.js';
import { GO_HEAP_SAMPLE_TYPES } from '../report/pprof.js';
import type { MallocProfile, MallocValueName } from '../model/malloc-profile.js';
import type { StackProfile } from '../model/stack-profile.js';
import { readMallocLog } from './malloc-report.js';
import { pushToPyroscope, type PyroscopePush, type PyroscopeSampleType } from './pyroscope-push.js';
import { seriesReportRequests, writeSeriesReports } from './write-series-reports.js';
import { checkReportPaths, parseValueName, reportRequests, reportRequestsFor, writeReport, writeReports } from './write-reports.js';

export interface ReportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What the command line asked of the reports; each input checks the parts it uses. */
export interface ReportInputOptions {
  /** -o paths, in order ("-" is stdout). */
  outputs: string[];
  /** -f: the format written to stdout. */
  format: string | null;
  lenient: boolean;
  /** --value, unchecked. */
  value: string | null;
  /** --top, unchecked. */
  top: string | null;
  /** --push, --app, --label: checked already; null when not pushing. */
  push: PyroscopePush | null;
}

export interface ReportInput {
  /** The --input-format name. */
  name: string;
  /** One line for the help text and the docs. */
  summary: string;
  /** Names that are this input whatever the content says (FlameGraph's .folded). */
  fileName?: RegExp;
  /** Whether the head of a log is this input. */
  detect(head: LogHead): boolean;
  /** Checks the outputs first, then reads the log and writes the reports; returns the exit code. */
  report(path: string, options: ReportInputOptions, io: ReportIo): Promise<number>;
}

/** --top, from 1 to 10,000 (default 10). */
export function topOption(top: string | null): number {
  return top === null ? 10 : validateInteger('--top', top, 1, 10_000);
}

const MALLOC_LOG_MARKERS = /^memtrace:begin\b|"memtrace_header"|"data": "memtrace:begin\b/m;

/** A malloc profile from either malloc input: memtrace's json report, or a raw or hand-run log. */
export async function readMallocProfile(path: string, head: LogHead, lenient: boolean): Promise<MallocProfile> {
  return looksLikeJsonReport(head.firstLine) ? readMallocJson(path) : readMallocLog(path, { lenient });
}

/** With --push and no -o or -f, the profile goes to Pyroscope only: no table on stdout. */
function pushOnly(options: ReportInputOptions): boolean {
  return options.push !== null && options.outputs.length === 0 && options.format === null;
}

/** Pyroscope's view of malloc's values: counts are objects; what is held at the end is averaged over time, not summed. */
const MALLOC_PYROSCOPE_TYPES: PyroscopeSampleType[] = [
  { name: GO_HEAP_SAMPLE_TYPES.allocs!, units: 'objects', aggregation: 'sum' },
  { name: GO_HEAP_SAMPLE_TYPES.allocBytes!, units: 'bytes', aggregation: 'sum' },
  { name: GO_HEAP_SAMPLE_TYPES.outstanding!, units: 'objects', aggregation: 'average' },
  { name: GO_HEAP_SAMPLE_TYPES.outstandingBytes!, units: 'bytes', aggregation: 'average' },
];

async function pushMalloc(profile: MallocProfile, push: PyroscopePush, value: MallocValueName, io: ReportIo): Promise<void> {
  const seconds = profile.durationSeconds ?? 0;
  // A log that does not say when it was taken is filed as ending now.
  const from = profile.startedAt === null ? new Date(Date.now() - seconds * 1000) : new Date(profile.startedAt);
  const url = await pushToPyroscope(push, { pprof: renderMalloc(profile, 'pprof', { value }) as Buffer, types: MALLOC_PYROSCOPE_TYPES, from, until: new Date(from.getTime() + seconds * 1000) });
  io.stderr.write(`memtrace: pushed the profile to ${url.origin} as ${url.searchParams.get('name')}\n`);
}

/** A folded profile has no time of its own: it is filed as the second before now. */
async function pushStackProfile(profile: StackProfile, pprof: Buffer, push: PyroscopePush, io: ReportIo): Promise<void> {
  const types = profile.valueTypes.map((type): PyroscopeSampleType => ({ name: type.name, units: type.unit === 'bytes' ? 'bytes' : 'samples', aggregation: 'sum' }));
  const until = new Date();
  const url = await pushToPyroscope(push, { pprof, types, from: new Date(until.getTime() - 1000), until });
  io.stderr.write(`memtrace: pushed the profile to ${url.origin} as ${url.searchParams.get('name')}\n`);
}

async function reportMalloc(read: () => Promise<MallocProfile>, options: ReportInputOptions, io: ReportIo): Promise<number> {
  const value = parseValueName(options.value);
  const reports = pushOnly(options) ? [] : reportRequests(options.outputs, options.format);
  const top = topOption(options.top);
  await checkReportPaths(reports.map((report) => report.path));
  const profile = await read();
  await writeReports(profile, reports, io, { value, top });
  if (options.push !== null) await pushMalloc(profile, options.push, value, io);
  return 0;
}

export const MALLOC_INPUTS: ReportInput[] = [
  {
    name: 'malloc-json',
    summary: "memtrace malloc's json report",
    detect: (head) => looksLikeJsonReport(head.firstLine),
    report: (path, options, io) => reportMalloc(() => readMallocJson(path), options, io),
  },
  {
    name: 'malloc',
    summary: 'memtrace malloc --raw-out log, scripts/bpf/malloc.bt output',
    detect: (head) => MALLOC_LOG_MARKERS.test(head.text),
    report: (path, options, io) => reportMalloc(() => readMallocLog(path, { lenient: options.lenient }), options, io),
  },
];

export const REPORT_INPUTS: ReportInput[] = [
  {
    name: 'cpymemtrace',
    summary: "pymemtrace's cPyMemTrace Trace/Profile log (RSS per call)",
    detect: (head) => looksLikeCPyMemTraceLog(head.text),
    async report(path, options, io) {
      const reports = reportRequestsFor(options.outputs, options.format, { extensions: CALL_LOG_EXTENSIONS, formats: CALL_LOG_FORMATS });
      const top = topOption(options.top);
      await checkReportPaths(reports.map((report) => report.path));
      const log = await readCPyMemTraceLog(path, { lenient: options.lenient });
      const title = `cPyMemTrace ${log.header.mode ?? 'trace or profile'} log: ${basename(path)}`;
      for (const report of reports) await writeReport(renderCallLog(log, report.format, { title, top }), report.path, report.format, io);
      return 0;
    },
  },
  {
    name: 'folded',
    summary: 'FlameGraph folded stacks (root;caller;leaf COUNT)',
    fileName: /\.(folded|collapsed)$/i,
    detect: (head) => looksFolded(head.firstLine),
    async report(path, options, io) {
      const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, { extensions: STACK_EXTENSIONS, formats: STACK_FORMATS });
      const top = topOption(options.top);
      await checkReportPaths(reports.map((report) => report.path));
      const { profile, badLines } = await readFolded(path, { lenient: options.lenient });
      const render = { title: `folded stacks: ${basename(path)}`, top, notes: badLines > 0 ? [`${badLines} unreadable lines skipped (--lenient)`] : [] };
      for (const report of reports) await writeReport(renderStackProfile(profile, report.format, render), report.path, report.format, io);
      if (options.push !== null) await pushStackProfile(profile, renderStackProfile(profile, 'pprof', render) as Buffer, options.push, io);
      return 0;
    },
  },
  {
    name: 'process',
    summary: 'memtrace process log (JSON lines), pymemtrace process log',
    detect: (head) => detectProcessLog(head.firstLine) !== null,
    async report(path, options, io) {
      if (options.push !== null) throw new UsageError(`--push sends stack profiles to Pyroscope; ${path} is a process log (memory over time), which has no stacks`);
      const { reports } = seriesReportRequests(options.outputs, options.format, { liveLog: false });
      await checkReportPaths(reports.map((report) => report.path));
      await writeSeriesReports(await readProcessLog(path, { lenient: options.lenient }), reports, io);
      return 0;
    },
  },
  ...MALLOC_INPUTS,
];

/**
 * The input a log is: the one --input-format names, else the first whose file-name pattern
 * matches, else the first that recognises the head of the content.
 */
export function chooseReportInput(path: string, head: LogHead, inputFormat: string | null, inputs: ReportInput[] = REPORT_INPUTS): ReportInput {
  if (inputFormat !== null) {
    const named = inputs.find((input) => input.name === inputFormat);
    if (named === undefined) throw new UsageError(`--input-format: expected one of ${inputs.map((input) => input.name).join(', ')}, got "${inputFormat}"`);
    return named;
  }
  const chosen = inputs.find((input) => input.fileName?.test(basename(path))) ?? inputs.find((input) => input.detect(head));
  if (chosen !== undefined) return chosen;
  if (head.text.trim() === '') {
    throw new UsageError(`${path} is empty: nothing to report (a trace cut before the tracer printed? --input-format malloc reports it as such)`);
  }
  throw new UsageError(
    `${path}: not a log memtrace report reads (its first line is ${JSON.stringify(head.firstLine.slice(0, 80))}); ` +
      `give --input-format, one of: ${inputs.map((input) => input.name).join(', ')}`,
  );
}
