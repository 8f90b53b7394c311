import { UsageError } from '../../errors.js';
import { runGc } from '../../tools/gc/gc.js';
import { checkReportPaths, reportRequestsFor } from '../../tools/common/write-reports.js';
import { GC_REPORTS } from '../../report/gc-index.js';
import { parseTracingCommand, TRACING_HELP_END, type Command } from '../command.js';

export const GC_HELP = `Usage: memtrace-bpf gc [options] -p PID
       memtrace-bpf gc [options] -- node [ARGS...]

Traces every V8 garbage collection of one node process, stock and unmodified:
its kind (scavenge, mark-compact, minor mark-compact), V8's reason, the pause
and the process's RSS after it; then a summary by kind (count, total, p50, p99
and max pause). Probes V8's Heap::PerformGarbageCollection, found by name in
the target's own node binary, or Node's gc__start/gc__done USDT probes where
the binary has them (built --with-dtrace, Node 18 and older).

Target:
  -p, --pid PID           attach to a running node process
  -- COMMAND [ARGS...]    launch node and trace it from its first instruction;
                          memtrace exits with the command's exit code

Reports:
  -o, --output FILE       write a report; the format comes from the extension:
                          .txt (table) .json .tsv .csv .svg (time plot of
                          pauses and RSS) .jsonl (the collections as a process
                          log, for memtrace report's process plots); "-" is
                          stdout (repeatable; default: a table on stdout)
  -f, --format FORMAT     format for stdout: table, json, tsv, csv, svg, series
      --raw-out FILE      keep bpftrace's raw output; re-render it later with
                          memtrace report FILE

Tracing:
  -d, --duration TIME     stop after TIME (30, 1.5s, 500ms, 2m)
      --live              one line on stderr per collection as it happens
                          (the default when stderr is a terminal)
      --quiet             no per-collection lines
${TRACING_HELP_END}

Needs root (bpftrace). See docs/tools/gc.md.
`;

export const gcCommand: Command = {
  name: 'gc',
  summary: 'every V8 garbage collection of a node process: kind, reason, pause, RSS',
  needsBackend: true,
  async run(argv, io) {
    const line = parseTracingCommand(argv, io, {
      tool: 'gc',
      bpftraceOnly: 'gc traces with bpftrace (Linux); memtrace-dtrace has no gc tool yet',
      help: GC_HELP,
      launchWords: 'node [ARGS...]',
      options: { live: { type: 'boolean' }, quiet: { type: 'boolean' } },
    });
    if (line === null) return 0;
    const { values, tracing } = line;
    if (values.live === true && values.quiet === true) throw new UsageError('give either --live or --quiet, not both');
    const reports = reportRequestsFor(line.outputs, line.format, GC_REPORTS);
    await checkReportPaths([...reports.map((report) => report.path), tracing.rawOut]);
    return runGc({ ...tracing, reports, live: values.live === true || (values.quiet !== true && Boolean(io.stderr.isTTY)) }, io);
  },
};
