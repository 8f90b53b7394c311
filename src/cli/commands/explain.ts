import { UsageError } from '../../errors.js';
import { validateDurationMs, validatePid } from '../../probes/validate.js';
import { EXPLAIN_REPORTS } from '../../report/explain-index.js';
import { runExplain } from '../../tools/explain/explain.js';
import { checkReportPaths, reportRequestsFor } from '../../tools/common/write-reports.js';
import { parseCommandLine, stringOption, type Command } from '../command.js';

export const EXPLAIN_HELP = `Usage: memtrace explain [options] -p PID
       memtrace explain [options] -- COMMAND [ARGS...]

Splits a process's resident memory (RSS, as /proc/PID/smaps counts it) into
parts that add up to it, and names the dominant cause: malloc blocks the
program holds; freed memory the allocator retains (glibc's arenas, read from
outside the process through libc6-dbg's symbols, without stopping it);
file-backed mappings; thread stacks; other anonymous memory. Each part lists
its biggest members (arenas, mappings, threads).

Target:
  -p, --pid PID           explain a running process (at once, or after -d)
  -- COMMAND [ARGS...]    launch COMMAND, explain it after -d or at Ctrl-C,
                          then end it (SIGTERM; SIGINT after a Ctrl-C)

Options:
  -d, --duration TIME     take the snapshot after TIME (30, 1.5s, 2m)
  -o, --output FILE       write a report: .txt (table) .json .html; "-" is
                          stdout (repeatable; default: a table on stdout)
  -f, --format FORMAT     format for stdout: table (default), json, html
      --attach-inspector  a Node.js target: V8's heap and external memory as
                          parts of their own, asked through its inspector,
                          which memtrace opens (SIGUSR1) for the snapshot and
                          closes (any local user can connect to it meanwhile)
      --verbose           show stack traces of errors
  -h, --help              this help

Reading another user's process needs root. See docs/tools/explain.md.
`;

export const explainCommand: Command = {
  name: 'explain',
  summary: "where a process's RSS is: malloc live and retained, files, stacks, the rest",
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals, command } = parseCommandLine(argv, {
      pid: { type: 'string', short: 'p' },
      duration: { type: 'string', short: 'd' },
      output: { type: 'string', short: 'o', multiple: true },
      format: { type: 'string', short: 'f' },
      'attach-inspector': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(EXPLAIN_HELP);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (a command to launch goes after --)`);
    const pidText = stringOption(values, 'pid');
    if (pidText !== null && command !== null) throw new UsageError('give either -p PID or -- COMMAND, not both');
    if (pidText === null && (command === null || command.length === 0))
      throw new UsageError('nothing to explain: give -p PID or -- COMMAND [ARGS...]');
    const reports = reportRequestsFor((values.output as string[] | undefined) ?? [], stringOption(values, 'format'), EXPLAIN_REPORTS);
    await checkReportPaths(reports.map((report) => report.path));
    const duration = stringOption(values, 'duration');
    return runExplain(
      {
        target: pidText !== null ? { kind: 'attach', pid: validatePid(pidText) } : { kind: 'launch', command: command! },
        durationMs: duration === null ? null : validateDurationMs('--duration', duration),
        reports,
        attachInspector: values['attach-inspector'] === true,
      },
      io,
    );
  },
};
