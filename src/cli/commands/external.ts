import { DEFAULT_EXTERNAL_STACK_DEPTH } from '../../probes/external-spec.js';
import { MAX_STACK_DEPTH } from '../../probes/malloc-spec.js';
import { runExternal } from '../../tools/external/external.js';
import { checkReportPaths, parseValueName, reportRequests } from '../../tools/common/write-reports.js';
import {
  parseTracingCommand,
  stackToolOptions,
  STACK_OPTIONS,
  STACKS_HELP,
  stringOption,
  timelineOption,
  TIMELINE_HELP,
  TIMELINE_OPTIONS,
  TRACING_HELP_END,
  type Command,
} from '../command.js';

export const EXTERNAL_HELP = `Usage: memtrace-bpf external [options] -p PID
       memtrace-bpf external [options] -- node [ARGS...]

Traces the backing stores of ArrayBuffers, Buffers and typed arrays of a Node
process: every allocation and free through Node's ArrayBuffer allocator, by
call stack with the JS functions in it. This is the memory that heap
snapshots do not show ("external" in process.memoryUsage()). Reports what was
allocated, what was freed, and what is still held at the end, by stack.

JS function names come from the perf map node writes (/tmp/perf-PID.map): a
node memtrace launches is asked for one (NODE_OPTIONS gets
--perf-basic-prof-only-functions --interpreted-frames-native-stack); an
attached node has one only if it was started with those flags.

Target:
  -p, --pid PID           attach to a running node
  -- node [ARGS...]       launch a Node program and trace it from its start;
                          memtrace exits with the program's exit code

Reports:
  -o, --output FILE       write a report; the format comes from the extension:
                          .txt (table) .json .folded .svg .tsv .pb.gz; "-" is
                          stdout (repeatable; default: a table on stdout)
  -f, --format FORMAT     format for stdout: table, json, folded, svg, tsv, pprof
      --value NAME        what folded and svg show: allocBytes (default),
                          allocs, outstanding, outstandingBytes
      --top N             stacks shown in the table (default 10)
      --raw-out FILE      keep bpftrace's raw output with the maps and symbols;
                          re-render later: memtrace report FILE

Tracing:
  -d, --duration TIME     stop after TIME (30, 1.5s, 500ms, 2m)
${TIMELINE_HELP}
      --stack-depth N     frames per stack, 1 to ${MAX_STACK_DEPTH} (default ${DEFAULT_EXTERNAL_STACK_DEPTH})
${STACKS_HELP}
      --map-entries N     capacity of the kernel maps (default 262144)
${TRACING_HELP_END}

Needs root (bpftrace) and a node with its C++ symbols (the stock binary has
them). See docs/tools/external.md.
`;

export const externalCommand: Command = {
  name: 'external',
  summary: "a Node process's ArrayBuffer/Buffer memory, by JS stack",
  needsBackend: true,
  async run(argv, io) {
    const line = parseTracingCommand(argv, io, {
      tool: 'external',
      bpftraceOnly: 'external traces with bpftrace (Linux); memtrace-dtrace has no external tool yet',
      help: EXTERNAL_HELP,
      launchWords: 'node [ARGS...]',
      options: { ...STACK_OPTIONS, ...TIMELINE_OPTIONS },
    });
    if (line === null) return 0;
    const { values, tracing } = line;
    const reports = reportRequests(line.outputs, line.format);
    await checkReportPaths([...reports.map((report) => report.path), tracing.rawOut]);
    return runExternal(
      {
        ...tracing,
        reports,
        ...stackToolOptions(line, { min: 1, default: DEFAULT_EXTERNAL_STACK_DEPTH }),
        timelineIntervalMs: timelineOption(line),
        value: parseValueName(stringOption(values, 'value')),
      },
      io,
    );
  },
};
