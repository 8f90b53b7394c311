import { UsageError } from '../../errors.js';
import { validateDurationMs, validatePid } from '../../probes/validate.js';
import { parseListenAddress } from '../../sample/prometheus-server.js';
import { runProcess } from '../../tools/process/process.js';
import { INTERVAL_RANGE_MS } from '../../sample/sampler.js';
import { seriesReportRequests } from '../../tools/process/write-reports.js';
import { checkReportPaths } from '../../tools/common/write-reports.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const PROCESS_HELP = `Usage: memtrace process [options] -p PID
       memtrace process [options] -- COMMAND [ARGS...]

Samples a process's memory at a fixed interval, at near-zero cost: resident
set size (RSS) and virtual size from /proc (ps on macOS), and, for a Node.js
program memtrace launches, V8's heapUsed, heapTotal, external and
arrayBuffers. Writes a JSON lines log as it goes (complete up to the last
sample whatever happens) and renders plots and tables at the end.

Target:
  -p, --pid PID           sample a running process
  -- COMMAND [ARGS...]    launch COMMAND and sample it until it exits;
                          memtrace exits with the command's exit code

Output:
  -o, --output FILE       .jsonl or .ndjson: the live log, written as samples
                          are taken; .svg .html .txt (table) .tsv .csv .json
                          .plt/.dat (gnuplot: writes both): a report rendered
                          at the end; "-" is stdout (repeatable; default: a
                          table on stdout)
  -f, --format FORMAT     format for stdout: table (default), jsonl (the live
                          log), tsv, csv, svg, html, json
      --prometheus ADDR   serve the latest values at http://ADDR/metrics in
                          Prometheus's text format (127.0.0.1:9464, :9464)

Sampling:
  -i, --interval TIME     time between samples (default 1s; 0.25, 100ms)
  -d, --duration TIME     stop after TIME (30, 1.5s, 2m); the command runs on
      --children          also sample the process's descendants, each and the
                          sum (a scan of /proc per sample)
      --heap              require V8 heap figures (error unless the command is
                          a Node.js program); by default they are taken when it is
      --no-heap           do not add memtrace's preload to a Node command
      --attach-inspector  with -p PID of a Node.js program: V8's heap figures
                          through its inspector, which memtrace opens with
                          SIGUSR1 for the trace and closes at the end (any
                          local user can connect to it meanwhile)
      --status TIME       a status line on stderr every TIME (default: every
                          second when stderr is a terminal)
      --verbose           show stack traces of errors
  -h, --help              this help

Labels: "memtrace mark PID TEXT" from another shell, or SIGUSR2 to memtrace,
adds a mark at that moment; a Node program labels its own log through the
API (ProcessSampler.mark). See docs/tools/process.md.
`;

export const processCommand: Command = {
  name: 'process',
  summary: 'RSS (and V8 heap) of a process over time, near-zero cost',
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals, command } = parseCommandLine(argv, {
      pid: { type: 'string', short: 'p' },
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      prometheus: { type: 'string' },
      interval: { type: 'string', short: 'i' },
      duration: { type: 'string', short: 'd' },
      children: { type: 'boolean' },
      heap: { type: 'boolean' },
      'no-heap': { type: 'boolean' },
      'attach-inspector': { type: 'boolean' },
      status: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(PROCESS_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (a command to launch goes after --)`);
    const pidText = stringOption(values, 'pid');
    if (pidText !== null && command !== null) throw new UsageError('give either -p PID or -- COMMAND, not both');
    if (pidText === null && (command === null || command.length === 0))
      throw new UsageError('nothing to sample: give -p PID or -- COMMAND [ARGS...]');
    if (values.heap === true && values['no-heap'] === true) throw new UsageError('give --heap or --no-heap, not both');
    const attachInspector = values['attach-inspector'] === true;
    if (attachInspector && pidText === null)
      throw new UsageError(
        "--attach-inspector is for -p PID: a Node program memtrace launches reports its heap through memtrace's preload",
      );
    if (attachInspector && values['no-heap'] === true) throw new UsageError('give --attach-inspector or --no-heap, not both');
    const intervalMs = validateDurationMs('--interval', stringOption(values, 'interval') ?? '1');
    if (intervalMs < INTERVAL_RANGE_MS.min || intervalMs > INTERVAL_RANGE_MS.max)
      throw new UsageError(`--interval: expected from 10ms to 1h, got ${stringOption(values, 'interval')}`);
    const { log, reports } = seriesReportRequests((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), {
      liveLog: true,
    });
    await checkReportPaths([log === '-' ? null : log, ...reports.map((report) => report.path)]);
    const duration = stringOption(values, 'duration');
    const status = stringOption(values, 'status');
    const prometheus = stringOption(values, 'prometheus');
    return runProcess(
      {
        target: pidText !== null ? { kind: 'attach', pid: validatePid(pidText) } : { kind: 'launch', command: command! },
        intervalMs,
        durationMs: duration === null ? null : validateDurationMs('--duration', duration),
        children: values.children === true,
        log,
        reports,
        prometheus: prometheus === null ? null : parseListenAddress(prometheus),
        heap: values.heap === true ? 'on' : values['no-heap'] === true ? 'off' : 'auto',
        attachInspector,
        statusMs: status === null ? null : validateDurationMs('--status', status),
      },
      io,
    );
  },
};
