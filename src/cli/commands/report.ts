import { access, constants } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { readMallocLog } from '../../tools/malloc-report.js';
import { detectProcessLog, isCPyMemTraceLog, readProcessLog } from '../../parse/process-log.js';
import { firstLine } from '../../parse/first-line.js';
import { seriesReportRequests, writeSeriesReports } from '../../tools/write-series-reports.js';
import { checkReportPaths, parseValueName, reportRequests, writeReports } from '../../tools/write-reports.js';
import { validateInteger } from '../../probes/validate.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const REPORT_HELP = `Usage: memtrace report [options] FILE

Re-renders a saved log; its kind is told from its first line:
- malloc: the --raw-out log of memtrace malloc, or the output of
  scripts/bpf/malloc.bt run by hand (bpftrace text or -f json output);
- process: the log of memtrace process or ProcessSampler (JSON lines), or a
  pymemtrace process log.

  -o, --output FILE     write a report; format from the extension (repeatable;
                        "-" is stdout):
                          malloc:  .txt (table) .json .folded .svg .tsv
                                   .pb.gz (pprof)
                          process: .txt (table) .svg .html .tsv .json
                                   .jsonl (memtrace's log format) .plt/.dat
                                   (gnuplot: writes both)
  -f, --format FORMAT   format for stdout: table (default), json, folded, svg,
                        tsv, pprof (malloc); table, svg, html, tsv, json, jsonl
                        (process)
      --value NAME      what folded and svg show: allocBytes (default), allocs,
                        outstanding, outstandingBytes
      --top N           stacks shown in the table (default 10)
      --lenient         count malformed lines instead of stopping at the first
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
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(REPORT_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no log file given' : `one log file at a time, got ${positionals.length}`);
    const path = positionals[0]!;
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new UsageError(`cannot read ${path}: no such file, or not readable`);
    }
    const first = await firstLine(path);
    if (isCPyMemTraceLog(first)) {
      throw new UsageError(`${path} is a cPyMemTrace trace or profile log (RSS per Python call); memtrace report reads malloc and process logs`);
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
    const profile = await readMallocLog(path, { lenient: values.lenient === true });
    const top = stringOption(values, 'top');
    await writeReports(profile, reports, io, { value, top: top === null ? 10 : validateInteger('--top', top, 1, 10_000) });
    return 0;
  },
};
