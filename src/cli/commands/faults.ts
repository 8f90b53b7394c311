import { DEFAULT_STACK_DEPTH, MAX_STACK_DEPTH } from '../../probes/malloc-spec.js';
import { FAULTS_REPORTS } from '../../report/faults-index.js';
import { runFaults } from '../../tools/faults/faults.js';
import { parseFaultsValue } from '../../tools/faults/value.js';
import { checkReportPaths, reportRequestsFor } from '../../tools/common/write-reports.js';
import {
  parseTracingCommand,
  stackToolOptions,
  STACK_OPTIONS,
  STACKS_HELP,
  stringOption,
  TRACING_HELP_END,
  type Command,
} from '../command.js';

export const FAULTS_HELP = `Usage: memtrace-bpf faults [options] -p PID
       memtrace-bpf faults [options] -- COMMAND [ARGS...]

Which stacks make a process's RSS grow: every page fault in user space, every
brk that raises the break and every successful mmap of the process (all its
threads), aggregated in the kernel by user stack. When the duration ends, on
Ctrl-C, or when the target exits, reports the faults, the bytes made resident
(one page per fault on a page not present: an upper bound), brk growth and
mmap lengths, each by stack.

Target:
  -p, --pid PID           attach to a running process
  -- COMMAND [ARGS...]    launch COMMAND and trace it from its first instruction;
                          memtrace exits with the command's exit code

Reports:
  -o, --output FILE       write a report; the format comes from the extension:
                          .txt (table) .json .folded .svg (flame graph) .html
                          .pb.gz (pprof) .speedscope.json; "-" is stdout
                          (repeatable; default: a table on stdout)
  -f, --format FORMAT     format for stdout: table, json, folded, svg, pprof,
                          speedscope, html
      --value NAME        what folded and svg show, and what html, pprof and
                          speedscope show first: residentBytes (default),
                          faults, brkBytes, mmapBytes
      --top N             stacks shown in each table section (default 10)
      --raw-out FILE      keep bpftrace's raw output, with the target's memory
                          maps and symbols; re-render later: memtrace report FILE

Tracing:
  -d, --duration TIME     stop after TIME (30, 1.5s, 500ms, 2m)
      --stack-depth N     frames per stack, 2 to ${MAX_STACK_DEPTH} (default ${DEFAULT_STACK_DEPTH})
${STACKS_HELP}
      --map-entries N     capacity of the kernel maps (default 262144)
${TRACING_HELP_END}

Needs root (bpftrace), Linux x86-64. See docs/tools/faults.md.
`;

export const faultsCommand: Command = {
  name: 'faults',
  summary: 'page faults, brk and mmap of a process, by stack: what makes RSS grow',
  needsBackend: true,
  async run(argv, io) {
    const line = parseTracingCommand(argv, io, {
      tool: 'faults',
      help: FAULTS_HELP,
      launchWords: 'COMMAND [ARGS...]',
      bpftraceOnly: 'faults traces with bpftrace on Linux; there is no DTrace version yet',
      options: STACK_OPTIONS,
    });
    if (line === null) return 0;
    const { values, tracing } = line;
    const reports = reportRequestsFor(line.outputs, line.format, FAULTS_REPORTS);
    await checkReportPaths([...reports.map((report) => report.path), tracing.rawOut]);
    return runFaults(
      {
        ...tracing,
        reports,
        ...stackToolOptions(line, { min: 2, default: DEFAULT_STACK_DEPTH }),
        value: parseFaultsValue(stringOption(values, 'value')),
      },
      io,
    );
  },
};
