import { UsageError } from '../../errors.js';
import { DEFAULT_THRESHOLDS } from '../../model/heap-space-diff.js';
import { validateByteSize } from '../../probes/validate.js';
import { runHeapStats } from '../../tools/heap-stats/heap-stats.js';
import { HEAP_STATS_REPORTS } from '../../report/heap-stats-index.js';
import { checkReportPaths, reportRequestsFor } from '../../tools/common/write-reports.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const HEAP_STATS_HELP = `Usage: memtrace heap-stats [options] -- COMMAND [ARGS...]

Snapshots V8's heap figures when a Node.js program starts and when it ends
(v8.getHeapSpaceStatistics, getHeapStatistics, getHeapCodeStatistics,
process.memoryUsage) and reports the differences that matter: each value that
moved by at least --min-bytes and --min-relative, after the noise of the
snapshots themselves is taken off. COMMAND must run Node.js (node, npm, npx,
or a script whose #! line names node). memtrace exits with its exit code.
For a block inside a program, use the API: heapStats(() => …).

  -o, --output FILE        write a report: .txt (table) .json .tsv .csv; "-"
                           is stdout (repeatable; default: a table on stdout)
  -f, --format FORMAT      format for stdout: table (default), json, tsv, csv
      --min-bytes SIZE     smallest change reported (default 64k)
      --min-relative PCT   smallest change relative to the value before
                           (default 1%; 0.5%, 0.02)
      --all                report every value, significant or not
      --no-gc              no full GC before each snapshot (garbage then
                           counts as growth)
      --verbose            show stack traces of errors
  -h, --help               this help

See docs/tools/heap-stats.md.
`;

export const heapStatsCommand: Command = {
  name: 'heap-stats',
  summary: 'V8 heap spaces of a Node program, start vs end, significant changes only',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals, command } = parseCommandLine(argv, {
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      'min-bytes': { type: 'string' },
      'min-relative': { type: 'string' },
      all: { type: 'boolean' },
      'no-gc': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(HEAP_STATS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the command goes after --)`);
    if (command === null || command.length === 0) throw new UsageError('no command: memtrace heap-stats -- node script.js');
    const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), HEAP_STATS_REPORTS);
    await checkReportPaths(reports.map((report) => report.path));
    const minBytes = stringOption(values, 'min-bytes');
    const minRelative = stringOption(values, 'min-relative');
    return runHeapStats(
      {
        command,
        thresholds: {
          minBytes: minBytes === null ? DEFAULT_THRESHOLDS.minBytes : validateByteSize('--min-bytes', minBytes),
          minRelative: minRelative === null ? DEFAULT_THRESHOLDS.minRelative : parseFraction('--min-relative', minRelative),
        },
        gc: values['no-gc'] !== true,
        all: values.all === true,
        reports,
      },
      io,
    );
  },
};

/** "1%", "0.5%" or "0.02" → a fraction. */
export function parseFraction(option: string, text: string): number {
  const match = /^(\d{1,6}(?:\.\d{1,6})?)(%?)$/.exec(text);
  const value = match === null ? NaN : Number(match[1]) / (match[2] === '%' ? 100 : 1);
  if (!(value >= 0 && value <= 1000))
    throw new UsageError(`${option}: expected a percentage such as 1% or a fraction such as 0.01, got "${text}"`);
  return value;
}
