// The inputs `memtrace report` reads, in the order it tries them. Each input says how it is
// recognised (by an explicit --input-format, by the file's name, then by the head of its content)
// and renders itself: it reads the log into its model and writes the reports asked for.
//
// To add an input: write its reader under src/parse/, its model under src/model/, then one
// ReportInput here (or in its own module under tools/, listed in REPORT_INPUTS).
import { basename } from 'node:path';
import { readablePath, UsageError } from '../../errors.js';
import { looksLikeCallLogJson, readCallLogJson } from '../../parse/call-log-json.js';
import { looksLikeCallsLog, readCallsLog } from '../../parse/calls-log.js';
import { looksLikeCPyMemTraceLog, readCPyMemTraceLog } from '../../parse/cpymemtrace-log.js';
import { looksLikeDtraceAggregations } from '../../parse/dtrace-aggregation.js';
import { looksLikeBpftraceMaps } from '../../parse/bpftrace-maps.js';
import { looksLikeFaultsLog } from '../../parse/faults-log.js';
import { looksFolded, readFolded } from '../../parse/folded.js';
import { looksLikeMallocDtrace } from '../../parse/malloc-dtrace.js';
import { looksLikePyMallocDtrace } from '../../parse/pymalloc-dtrace.js';
import type { LogHead } from '../../parse/first-line.js';
import { looksLikeGcJson } from '../../parse/gc-json.js';
import { looksLikeJsonReport, readMallocJson } from '../../parse/malloc-json.js';
import { detectProcessLog, readProcessLog } from '../../parse/process-log.js';
import { validateTop } from '../../probes/validate.js';
import { CALL_LOG_REPORTS } from '../../report/call-log-index.js';
import { renderStackProfile, STACK_REPORTS } from '../../report/stack-index.js';
import { FAULTS_REPORTS, renderFaults } from '../../report/faults-index.js';
import { GC_REPORTS } from '../../report/gc-index.js';
import { faultsStackProfile } from '../../model/faults-profile.js';
import { callLogDecimationNote, type CallLog } from '../../model/call-log.js';
import type { MallocProfile } from '../../model/malloc-profile.js';
import type { Series } from '../../model/series.js';
import { reportDtraceAggregations, reportPyMallocDtrace } from './dtrace-aggregations.js';
import { readMallocDtraceLog } from '../malloc/dtrace-report-input.js';
import { reportBpftraceMaps } from './bpftrace-maps.js';
import type { GcLog } from '../../model/gc-log.js';
import { readGcLog, readGcReport } from '../gc/report-input.js';
import { parseFaultsValue } from '../faults/value.js';
import { readFaultsLog } from '../faults/report-input.js';
import { readMallocLog } from '../malloc/report-input.js';
import { pushMalloc, pushOnly, pushStackProfile } from './push.js';
import type { ReportInput, ReportInputOptions, ReportIo } from './input.js';

export type { ReportInput, ReportInputOptions, ReportIo };
import { seriesReportRequests, writeSeriesReports } from '../process/write-reports.js';
import { checkReportPaths, parseValueName, reportRequests, reportRequestsFor, writeFamilyReports } from '../common/write-reports.js';
import { MALLOC_REPORTS } from '../../report/index.js';

const MALLOC_LOG_MARKERS = /^memtrace:begin\b|"memtrace_header"|"data": "memtrace:begin\b/m;

/** A malloc profile from either malloc input: memtrace's json report, or a raw or hand-run log. */
export async function readMallocProfile(path: string, head: LogHead, lenient: boolean): Promise<MallocProfile> {
  if (looksLikeJsonReport(head.firstLine)) return readMallocJson(path);
  return looksLikeMallocDtrace(head.text) ? readMallocDtraceLog(path, { lenient }) : readMallocLog(path, { lenient });
}

async function reportMalloc(read: () => Promise<MallocProfile>, options: ReportInputOptions, io: ReportIo): Promise<number> {
  const value = parseValueName(options.value);
  const reports = pushOnly(options) ? [] : reportRequests(options.outputs, options.format);
  const top = validateTop(options.top);
  await checkReportPaths(reports.map((report) => report.path));
  const profile = await read();
  const companion = options.with === null ? undefined : await companionLog(profile, options.with, options.lenient);
  await writeFamilyReports(MALLOC_REPORTS, profile, reports, { value, top, ...(companion === undefined ? {} : { companion }) }, io);
  if (options.push !== null) await pushMalloc(profile, options.push, value, io);
  return 0;
}

/** --with's process log, once the trace is known to have a timeline placed on the wall clock. */
async function companionLog(profile: MallocProfile, path: string, lenient: boolean): Promise<Series> {
  if (profile.timeline === undefined) {
    throw new UsageError(
      `--with draws ${path} beside the growth over time of a --timeline trace; this trace has no timeline (trace with --timeline)`,
    );
  }
  if (profile.timeline.startedAt === null) {
    throw new UsageError(
      `--with places ${path} by the wall clock, and this trace's timeline has no start time (a log run by hand, or written by an older memtrace)`,
    );
  }
  return readProcessLog(path, { lenient });
}

export const MALLOC_INPUTS: ReportInput[] = [
  {
    name: 'malloc-dtrace',
    summary: 'memtrace-dtrace malloc --raw-out log, scripts/dtrace/malloc.d output',
    // Before `malloc`: both begin with memtrace:begin; the D program's records are tab-separated.
    stacks: true,
    detect: (head) => looksLikeMallocDtrace(head.text),
    report: (path, options, io) => reportMalloc(() => readMallocDtraceLog(path, { lenient: options.lenient }), options, io),
  },
  {
    name: 'malloc-json',
    summary: "memtrace malloc's json report",
    stacks: true,
    detect: (head) => looksLikeJsonReport(head.firstLine),
    report: (path, options, io) => reportMalloc(() => readMallocJson(path), options, io),
  },
  {
    name: 'malloc',
    summary: 'memtrace malloc/external --raw-out log, malloc.bt/external.bt output',
    stacks: true,
    detect: (head) => MALLOC_LOG_MARKERS.test(head.text),
    report: (path, options, io) => reportMalloc(() => readMallocLog(path, { lenient: options.lenient }), options, io),
  },
];

/** memtrace gc's program: its begin marker, in text or -f json, or a raw log's header naming the tool. */
const GC_LOG_MARKERS = /^memtrace:begin gc\b|"data": "memtrace:begin gc\b|"memtrace_header", ?"data": ?\{"tool": ?"gc"/m;

async function reportGc(read: () => Promise<GcLog>, options: ReportInputOptions, io: ReportIo): Promise<number> {
  const reports = reportRequestsFor(options.outputs, options.format, GC_REPORTS);
  await checkReportPaths(reports.map((report) => report.path));
  await writeFamilyReports(GC_REPORTS, await read(), reports, {}, io);
  return 0;
}

/** Before the malloc inputs: their detectors (a json report's "{", any memtrace:begin) match gc logs too. */
export const GC_INPUTS: ReportInput[] = [
  {
    name: 'gc-json',
    summary: "memtrace gc's json report",
    stacks: false,
    detect: (head) => looksLikeGcJson(head.text),
    report: (path, options, io) => reportGc(() => readGcReport(path), options, io),
  },
  {
    name: 'gc',
    summary: 'memtrace gc --raw-out log, scripts/bpf/gc.bt output',
    stacks: false,
    detect: (head) => GC_LOG_MARKERS.test(head.text),
    report: (path, options, io) => reportGc(() => readGcLog(path, { lenient: options.lenient }), options, io),
  },
];

/** A call log, read by `read` once the outputs are checked, rendered in every format asked for. */
async function reportCallLog(
  read: () => Promise<CallLog>,
  title: (log: CallLog) => string,
  options: ReportInputOptions,
  io: ReportIo,
): Promise<number> {
  const reports = reportRequestsFor(options.outputs, options.format, CALL_LOG_REPORTS);
  const top = validateTop(options.top);
  await checkReportPaths(reports.map((report) => report.path));
  const log = await read();
  // The table, the svg and the json say so themselves; tsv and csv have no room for it.
  const decimated = callLogDecimationNote(log);
  if (decimated !== null && reports.some((report) => report.format === 'tsv' || report.format === 'csv'))
    io.stderr.write(`memtrace: ${decimated}\n`);
  await writeFamilyReports(CALL_LOG_REPORTS, log, reports, { title: title(log), top }, io);
  return 0;
}

export const REPORT_INPUTS: ReportInput[] = [
  {
    // Before the malloc json report, whose detector takes any json report.
    name: 'calls-json',
    summary: "memtrace calls' json report (RSS per call)",
    stacks: false,
    detect: (head) => looksLikeCallLogJson(head.firstLine, head.text),
    report: (path, options, io) =>
      reportCallLog(
        () => readCallLogJson(path),
        () => `memtrace calls report: ${basename(path)}`,
        options,
        io,
      ),
  },
  {
    name: 'calls',
    summary: 'memtrace calls --raw-out log, scripts/bpf/calls.bt output',
    stacks: false,
    detect: (head) => looksLikeCallsLog(head.text),
    report: (path, options, io) =>
      reportCallLog(
        () => readCallsLog(path, { lenient: options.lenient }),
        () => `memtrace calls log: ${basename(path)}`,
        options,
        io,
      ),
  },
  {
    name: 'cpymemtrace',
    summary: "pymemtrace's cPyMemTrace Trace/Profile log (RSS per call)",
    stacks: false,
    detect: (head) => looksLikeCPyMemTraceLog(head.text),
    report: (path, options, io) =>
      reportCallLog(
        () => readCPyMemTraceLog(path, { lenient: options.lenient }),
        (log) => `cPyMemTrace ${log.header.mode ?? 'trace or profile'} log: ${basename(path)}`,
        options,
        io,
      ),
  },
  {
    name: 'folded',
    summary: 'FlameGraph folded stacks (root;caller;leaf COUNT)',
    fileName: /\.(folded|collapsed)$/i,
    stacks: true,
    detect: (head) => looksFolded(head.firstLine),
    async report(path, options, io) {
      const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, STACK_REPORTS);
      const top = validateTop(options.top);
      await checkReportPaths(reports.map((report) => report.path));
      const { profile, lines } = await readFolded(path, { lenient: options.lenient });
      const render = {
        title: `folded stacks: ${basename(path)}`,
        top,
        notes: lines.malformed > 0 ? [`${lines.malformed} unreadable lines skipped (--lenient)`] : [],
      };
      await writeFamilyReports(STACK_REPORTS, profile, reports, render, io);
      if (options.push !== null) await pushStackProfile(profile, renderStackProfile(profile, 'pprof', render) as Buffer, options.push, io);
      return 0;
    },
  },
  {
    name: 'process',
    summary: 'memtrace process log (JSON lines), pymemtrace process log',
    stacks: false,
    detect: (head) => detectProcessLog(head.firstLine) !== null,
    async report(path, options, io) {
      const { reports } = seriesReportRequests(options.outputs, options.format, { liveLog: false });
      await checkReportPaths(reports.map((report) => report.path));
      await writeSeriesReports(await readProcessLog(path, { lenient: options.lenient }), reports, io);
      return 0;
    },
  },
  {
    name: 'pymalloc-dtrace',
    summary: 'scripts/dtrace/pymalloc.d output (malloc by Python function)',
    stacks: true,
    detect: (head) => looksLikePyMallocDtrace(head.text),
    report: (path, options, io) => reportPyMallocDtrace(path, options, io),
  },
  {
    // Before the malloc inputs: its log begins with memtrace:begin too.
    name: 'faults',
    summary: 'memtrace faults --raw-out log, scripts/bpf/faults.bt output',
    stacks: true,
    detect: (head) => looksLikeFaultsLog(head.text),
    async report(path, options, io) {
      const value = parseFaultsValue(options.value);
      const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, FAULTS_REPORTS);
      const top = validateTop(options.top);
      await checkReportPaths(reports.map((report) => report.path));
      const profile = await readFaultsLog(path, { lenient: options.lenient });
      await writeFamilyReports(FAULTS_REPORTS, profile, reports, { value, top }, io);
      if (options.push !== null)
        await pushStackProfile(
          faultsStackProfile(profile, value),
          renderFaults(profile, 'pprof', { value, top }) as Buffer,
          options.push,
          io,
        );
      return 0;
    },
  },
  ...GC_INPUTS,
  ...MALLOC_INPUTS,
  {
    // Generic, so after every memtrace format: any DTrace run's printed aggregations.
    name: 'dtrace',
    summary: 'DTrace aggregations as printed (ustack()/stack() keys, quantize())',
    stacks: true,
    detect: (head) => looksLikeDtraceAggregations(head.text),
    report: (path, options, io) => reportDtraceAggregations(path, options, io),
  },
  // After the malloc inputs: memtrace's own malloc logs are bpftrace output too, told apart by markers.
  {
    name: 'bpftrace',
    summary: 'any bpftrace map dump keyed by ustack/kstack, text or -f json (--map NAME)',
    stacks: true,
    detect: (head) => looksLikeBpftraceMaps(head.text),
    report: (path, options, io) => reportBpftraceMaps(path, options, validateTop(options.top), io),
  },
];

/**
 * The input a log is: the one --input-format names, else the first whose file-name pattern
 * matches, else the first that recognises the head of the content.
 */
export function chooseReportInput(
  path: string,
  head: LogHead,
  inputFormat: string | null,
  inputs: ReportInput[] = REPORT_INPUTS,
): ReportInput {
  if (inputFormat !== null) {
    const named = inputs.find((input) => input.name === inputFormat);
    if (named === undefined)
      throw new UsageError(`--input-format: expected one of ${inputs.map((input) => input.name).join(', ')}, got "${inputFormat}"`);
    return named;
  }
  const chosen = inputs.find((input) => input.fileName?.test(basename(path))) ?? inputs.find((input) => input.detect(head));
  if (chosen !== undefined) return chosen;
  if (head.text.trim() === '') {
    throw new UsageError(
      `${readablePath(path)} is empty: nothing to report (a trace cut before the tracer printed? --input-format malloc reports it as such)`,
    );
  }
  throw new UsageError(
    `${readablePath(path)}: not a log memtrace report reads (its first line is ${JSON.stringify(head.firstLine.slice(0, 80))}); ` +
      `give --input-format, one of: ${inputs.map((input) => input.name).join(', ')}`,
  );
}
