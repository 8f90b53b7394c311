import { UsageError } from '../../errors.js';
import { GROUP_BY, type GroupBy } from '../../model/js-heap-profile.js';
import { validateByteSize, validateInteger } from '../../probes/validate.js';
import { JS_HEAP_REPORTS } from '../../report/js-heap-index.js';
import { runTraceMalloc } from '../../tools/trace-malloc/trace-malloc.js';
import { checkReportPaths, reportRequestsFor } from '../../tools/common/write-reports.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const TRACE_MALLOC_HELP = `Usage: memtrace trace-malloc [options] -- COMMAND [ARGS...]

Which JavaScript functions allocated, and how much: V8's sampling heap profiler
runs over a whole Node.js program (through a preload added to NODE_OPTIONS)
and its samples are attributed to the allocating function and its file:line.
COMMAND must run Node.js (node, npm, npx, or a script whose #! line names
node). memtrace exits with its exit code. For a block inside a program, use
the API: traceMalloc(() => …).

  -o, --output FILE        write a report: .txt (table) .json .folded .svg
                           .html (flame graph and tables, offline)
                           .heapprofile (Chrome DevTools, speedscope) .pb.gz
                           (pprof) .speedscope.json; "-" is stdout
                           (repeatable; default: a table on stdout)
  -f, --format FORMAT      format for stdout: table (default), json, folded,
                           svg, heapprofile, pprof, speedscope, html
      --group-by KEY       line (default), function, file or stack
      --interval SIZE      mean bytes between samples (default 32k, V8's);
                           smaller is finer and costs more
      --retained           only what is still alive when the program ends
                           (default: everything allocated, collected or not)
      --top N              sites in the table (default 20)
      --verbose            show stack traces of errors
  -h, --help               this help

See docs/tools/trace-malloc.md for the method and its limits.
`;

export const traceMallocCommand: Command = {
  name: 'trace-malloc',
  summary: 'which JavaScript functions allocated (V8 sampling heap profiler)',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals, command } = parseCommandLine(argv, {
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      'group-by': { type: 'string' },
      interval: { type: 'string' },
      retained: { type: 'boolean' },
      top: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(TRACE_MALLOC_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the command goes after --)`);
    if (command === null || command.length === 0) throw new UsageError('no command: memtrace trace-malloc -- node script.js');
    const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), JS_HEAP_REPORTS);
    await checkReportPaths(reports.map((report) => report.path));
    const groupBy = stringOption(values, 'group-by') ?? 'line';
    if (!GROUP_BY.includes(groupBy as GroupBy))
      throw new UsageError(`--group-by: expected one of ${GROUP_BY.join(', ')}, got "${groupBy}"`);
    const interval = stringOption(values, 'interval');
    const samplingInterval = interval === null ? 32 * 1024 : validateByteSize('--interval', interval);
    if (samplingInterval < 1 || samplingInterval > 2 ** 30)
      throw new UsageError(`--interval: expected from 1 byte to 1 GiB, got ${interval}`);
    const top = stringOption(values, 'top');
    return runTraceMalloc(
      {
        command,
        samplingInterval,
        mode: values.retained === true ? 'retained' : 'allocated',
        groupBy: groupBy as GroupBy,
        top: top === null ? 20 : validateInteger('--top', top, 1, 100_000),
        reports,
      },
      io,
    );
  },
};
