import { parseFunctionPattern } from '../../probes/calls-spec.js';
import { validateByteSize, validateTop } from '../../probes/validate.js';
import { runCalls } from '../../tools/calls/calls.js';
import { parseTracingCommand, stringOption, TRACING_HELP_END, type Command } from '../command.js';

export const CALLS_HELP = `Usage: memtrace-bpf calls [options] -p PID
       memtrace-bpf calls [options] -- COMMAND [ARGS...]

Reads RSS at every Python function call and return (the interpreter's USDT
probes), and at the entry and return of chosen native functions (--func),
inside the probe, and logs the events at which RSS moved by at least the
trigger, each with the event just before it as context (pymemtrace's
cPyMemTrace). Reports the events with RSS and ΔRSS, and the functions ranked
by RSS growth.

What a Python target shows depends on its interpreter, which memtrace
inspects and describes before tracing: CPython 3.11 (Debian's) reports calls
while its line probe is enabled too; 3.12 to 3.14 have no function probes;
interpreters built without --with-dtrace have none. Builtin C functions are
never seen, and frames already running when tracing starts have no call.

Target:
  -p, --pid PID           attach to a running process
  -- COMMAND [ARGS...]    launch COMMAND (a Python command is held in its
                          start-up until the probes are attached); memtrace
                          exits with the command's exit code

Reports:
  -o, --output FILE       write a report; the format comes from the extension:
                          .txt (table) .json .tsv .csv .svg (RSS over the
                          events); "-" is stdout (repeatable; default: a table
                          on stdout); memtrace report FILE.json re-renders it
  -f, --format FORMAT     format for stdout: table, json, tsv, csv, svg
      --top N             functions shown in the table (default 10)
      --raw-out FILE      keep bpftrace's raw output (memtrace report reads it)

Tracing:
      --trigger SIZE      log an event when RSS moved by at least SIZE since
                          the last logged one (default 4096, one page; 0 logs
                          every event)
      --func LIB:GLOB     also probe the native functions matching GLOB in the
                          library LIB (a path, or a file-name glob matched
                          against the files the process maps): RSS either side
                          of each call ('libz.so*:deflate*'); repeatable
  -d, --duration TIME     stop after TIME (30, 1.5s, 500ms, 2m)
${TRACING_HELP_END}

Needs root (bpftrace). See docs/tools/calls.md.
`;

export const callsCommand: Command = {
  name: 'calls',
  summary: 'RSS at every Python call/return and around chosen native functions',
  needsBackend: true,
  async run(argv, io) {
    const line = parseTracingCommand(argv, io, {
      tool: 'calls',
      help: CALLS_HELP,
      launchWords: 'COMMAND [ARGS...]',
      bpftraceOnly: 'calls traces with bpftrace (Linux); memtrace-dtrace has no calls tool yet',
      options: { top: { type: 'string' }, trigger: { type: 'string' }, func: { type: 'string', multiple: true } },
    });
    if (line === null) return 0;
    const { values, tracing, optional } = line;
    return runCalls(
      {
        ...tracing,
        outputs: line.outputs,
        format: line.format,
        triggerBytes: optional('trigger', (text) => validateByteSize('--trigger', text)) ?? 4096,
        functions: ((values.func as string[] | undefined) ?? []).map(parseFunctionPattern),
        top: validateTop(stringOption(values, 'top')),
      },
      io,
    );
  },
};
