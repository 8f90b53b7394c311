import { access, constants } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { readMallocLog } from '../../tools/malloc-report.js';
import { detectProcessLog, isCPyMemTraceLog, readProcessLog } from '../../parse/process-log.js';
import { firstLine } from '../../parse/first-line.js';
import { seriesReportRequests, writeSeriesReports } from '../../tools/write-series-reports.js';
import { checkReportPaths, parseValueName, reportRequests, reportRequestsFor, writeReport, writeReports } from '../../tools/write-reports.js';
import { looksLikeJsonReport, readMallocJson } from '../../parse/malloc-json.js';
import { looksFolded, readFolded } from '../../parse/folded.js';
import { renderStackProfile, STACK_EXTENSIONS, STACK_FORMATS } from '../../report/stack-index.js';
import { basename } from 'node:path';
import { diffMallocProfiles } from '../../model/malloc-diff.js';
import { renderMallocDiffTable } from '../../report/malloc-diff-table.js';
import { renderJson } from '../../report/json.js';
import { formatBytes } from '../../report/units.js';
import { validateByteSize, validateInteger } from '../../probes/validate.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const REPORT_HELP = `Usage: memtrace report [options] FILE

Re-renders a saved log; its kind is told from its first line:
- malloc: the --raw-out log of memtrace malloc, or the output of
  scripts/bpf/malloc.bt run by hand (bpftrace text or -f json output);
- process: the log of memtrace process or ProcessSampler (JSON lines), or a
  pymemtrace process log;
- folded stacks (FlameGraph's "root;caller;leaf COUNT", .folded/.collapsed).

  -o, --output FILE     write a report; format from the extension (repeatable;
                        "-" is stdout):
                          malloc:  .txt (table) .json .folded .svg .tsv
                                   .pb.gz (pprof)
                          process: .txt (table) .svg .html .tsv .json
                                   .jsonl (memtrace's log format) .plt/.dat
                                   (gnuplot: writes both)
                          folded:  .txt .json .folded .svg .pb.gz
  -f, --format FORMAT   format for stdout: table (default), json, folded, svg,
                        tsv, pprof (malloc); table, svg, html, tsv, json, jsonl
                        (process)
      --value NAME      what folded and svg show: allocBytes (default), allocs,
                        outstanding, outstandingBytes
      --top N           stacks shown in the table (default 10)
      --lenient         count malformed lines instead of stopping at the first
      --diff            compare two malloc reports or logs: memtrace report
                        --diff BEFORE AFTER; what grew per function and per
                        stack, for --value (default allocBytes); table or json
      --fail-above N    with --diff: exit 1 when the total grew by more than
                        N (bytes such as 5MiB, or a count): a CI check
  -h, --help            this help
`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a saved malloc or process log (table, json, svg, folded, tsv, html, gnuplot)',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, {
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      value: { type: 'string' },
      top: { type: 'string' },
      lenient: { type: 'boolean' },
      diff: { type: 'boolean' },
      'fail-above': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(REPORT_HELP);
      return 0;
    }
    if (values.diff === true) return diffReports(positionals, values, io);
    if (stringOption(values, 'fail-above') !== null) throw new UsageError('--fail-above goes with --diff BEFORE AFTER');
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no log file given' : `one log file at a time, got ${positionals.length} (to compare two, use --diff)`);
    const path = positionals[0]!;
    await requireReadable(path);
    const first = await firstLine(path);
    if (isCPyMemTraceLog(first)) {
      throw new UsageError(`${path} is a cPyMemTrace trace or profile log (RSS per Python call); memtrace report reads malloc and process logs`);
    }
    if (/\.(folded|collapsed)$/i.test(path) || looksFolded(first)) {
      const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), { extensions: STACK_EXTENSIONS, formats: STACK_FORMATS });
      await checkReportPaths(reports.map((report) => report.path));
      const { profile, badLines } = await readFolded(path, { lenient: values.lenient === true });
      const top = stringOption(values, 'top');
      const options = { title: `folded stacks: ${basename(path)}`, top: top === null ? 10 : validateInteger('--top', top, 1, 10_000), notes: badLines > 0 ? [`${badLines} unreadable lines skipped (--lenient)`] : [] };
      for (const report of reports) await writeReport(renderStackProfile(profile, report.format, options), report.path, report.format, io);
      return 0;
    }
    const kind = detectProcessLog(first) === null ? 'malloc' : 'process';
    if (kind === 'process') {
      const { reports } = seriesReportRequests((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), { liveLog: false });
      await checkReportPaths(reports.map((report) => report.path));
      await writeSeriesReports(await readProcessLog(path, { lenient: values.lenient === true }), reports, io);
      return 0;
    }
    const value = parseValueName(stringOption(values, 'value'));
    const reports = reportRequests((values.output as string[] | undefined) ?? [], stringOption(values, 'format'));
    await checkReportPaths(reports.map((report) => report.path));
    const profile = await readMallocProfile(path, first, values.lenient === true);
    const top = stringOption(values, 'top');
    await writeReports(profile, reports, io, { value, top: top === null ? 10 : validateInteger('--top', top, 1, 10_000) });
    return 0;
  },
};

async function requireReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new UsageError(`cannot read ${path}: no such file, or not readable`);
  }
}

/** A malloc profile from any malloc input: memtrace's json report, or a raw or hand-run log. */
async function readMallocProfile(path: string, first: string, lenient: boolean) {
  return looksLikeJsonReport(first) ? readMallocJson(path) : readMallocLog(path, { lenient });
}

/** `--diff BEFORE AFTER [--fail-above N]`: what grew; exit 1 when the total grew by more than N. */
async function diffReports(positionals: string[], values: Record<string, unknown>, io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<number> {
  if (positionals.length !== 2) throw new UsageError(`--diff compares two malloc reports or logs, BEFORE and AFTER; got ${positionals.length}`);
  const value = parseValueName(stringOption(values, 'value'));
  const failText = stringOption(values, 'fail-above');
  const failAbove = failText === null ? null : value.endsWith('Bytes') ? validateByteSize('--fail-above', failText) : validateInteger('--fail-above', failText, 0, Number.MAX_SAFE_INTEGER);
  const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), { extensions: { '.txt': 'table', '.table': 'table', '.json': 'json' }, formats: ['table', 'json'] as const });
  await checkReportPaths(reports.map((report) => report.path));
  const profiles = [];
  for (const path of positionals) {
    await requireReadable(path);
    const first = await firstLine(path);
    if (detectProcessLog(first) !== null || isCPyMemTraceLog(first)) throw new UsageError(`--diff compares malloc reports; ${path} is a process or cPyMemTrace log`);
    profiles.push(await readMallocProfile(path, first, values.lenient === true));
  }
  const diff = diffMallocProfiles(profiles[0]!, profiles[1]!, { value, beforeSource: positionals[0]!, afterSource: positionals[1]! });
  const top = stringOption(values, 'top');
  for (const report of reports) {
    const text = report.format === 'json' ? renderJson(diff) : renderMallocDiffTable(diff, { top: top === null ? 10 : validateInteger('--top', top, 1, 10_000) });
    await writeReport(text, report.path, report.format, io);
  }
  if (failAbove !== null && diff.total.delta > failAbove) {
    io.stderr.write(`memtrace: ${value} grew by ${value.endsWith('Bytes') ? formatBytes(diff.total.delta) : diff.total.delta}, more than --fail-above ${failText}\n`);
    return 1;
  }
  return 0;
}
