import { DEFAULT_STACK_DEPTH, MAX_STACK_DEPTH } from '../../probes/malloc-spec.js';
import { validateByteSize, validateDurationMs, validateInteger, validateProbePath, validateSymbolPrefix } from '../../probes/validate.js';
import { parseAllocatorName } from '../../tools/common/allocator.js';
import { runMalloc } from '../../tools/malloc/malloc.js';
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

export const MALLOC_HELP = `Usage: memtrace-bpf malloc [options] -p PID
       memtrace-bpf malloc [options] -- COMMAND [ARGS...]

Traces every malloc, calloc, realloc, reallocarray, free, posix_memalign,
aligned_alloc, memalign, valloc and pvalloc call of one process, aggregated in
the kernel by call stack. When the duration ends, on Ctrl-C, or when the
target exits, reports a summary per function, a size histogram, the top
allocating stacks and the blocks still outstanding (a leak report).

Target:
  -p, --pid PID           attach to a running process
  -- COMMAND [ARGS...]    launch COMMAND and trace it from its first instruction;
                          memtrace exits with the command's exit code

Reports:
  -o, --output FILE       write a report; the format comes from the extension:
                          .txt (table) .json .folded .svg .tsv .csv .html
                          (flame graphs and tables, offline) .pb.gz (pprof:
                          alloc/inuse objects and space, as Go's heap
                          profiles) .speedscope.json; "-" is stdout
                          (repeatable; default: a table on stdout)
  -f, --format FORMAT     format for stdout: table, json, folded, svg, tsv,
                          csv, pprof, speedscope, html
      --value NAME        what folded and svg show, and what html, pprof and
                          speedscope show first: allocBytes (default),
                          allocs, outstanding, outstandingBytes
      --top N             stacks shown in the table (default 10)
      --raw-out FILE      keep bpftrace's raw output, with the target's memory
                          maps and symbols; re-render later: memtrace report FILE
      --events FILE       also write one line per call (costly: every call
                          crosses to user space)

Tracing:
  -d, --duration TIME     stop after TIME (30, 1.5s, 500ms, 2m)
      --interval TIME     live status line on stderr every TIME: calls/s,
                          outstanding bytes, lost events
${TIMELINE_HELP}
      --min-size SIZE     only allocations of at least SIZE bytes (4096, 64k)
      --max-size SIZE     only allocations of at most SIZE bytes
      --sample N          keep stacks and live blocks of 1 allocation in N
                          (deterministic, per thread); totals stay exact
      --stack-depth N     frames per stack, 1 to ${MAX_STACK_DEPTH} (default ${DEFAULT_STACK_DEPTH})
${STACKS_HELP}
      --mmap              also trace mmap and munmap
      --js                JS function names in the stacks of a Node command:
                          memtrace adds --perf-basic-prof-only-functions and
                          --interpreted-frames-native-stack to its NODE_OPTIONS
                          and reads the perf map it writes (an attached node's
                          map, /tmp/perf-PID.map, is read whenever it exists)
      --allocator NAME    glibc (default), jemalloc, tcmalloc, mimalloc
      --lib PATH          probe the allocator in this library or executable
      --prefix PFX        symbol prefix of that allocator (je_ for je_malloc)
      --shared-libc       for a launched command, probe the system's libc
                          rather than a private copy (with a bpftrace without
                          per-PID uprobes, such as 0.17: slower free, and every
                          other process using libc pays a trap per call)
      --map-entries N     capacity of the kernel maps (default 262144)
${TRACING_HELP_END}

Needs root (bpftrace). See docs/tools/malloc.md.

memtrace-dtrace malloc (macOS) runs the same session with DTrace's pid
provider on libsystem_malloc.dylib (--lib MODULE for another); --events,
--interval, --timeline, --mmap, --allocator, --prefix and --shared-libc are
bpftrace-only, and a launched command's arguments may not contain spaces
(dtrace -c). See docs/tools/dtrace.md.
`;

export const mallocCommand: Command = {
  name: 'malloc',
  summary: 'every malloc/free of a process, by stack, with a leak report',
  needsBackend: true,
  async run(argv, io) {
    // The same help for both backends, under the name the user typed.
    const line = parseTracingCommand(argv, io, {
      tool: 'malloc',
      help: MALLOC_HELP,
      launchWords: 'COMMAND [ARGS...]',
      options: {
        ...STACK_OPTIONS,
        events: { type: 'string' },
        interval: { type: 'string' },
        ...TIMELINE_OPTIONS,
        'min-size': { type: 'string' },
        'max-size': { type: 'string' },
        sample: { type: 'string' },
        mmap: { type: 'boolean' },
        js: { type: 'boolean' },
        allocator: { type: 'string' },
        lib: { type: 'string' },
        prefix: { type: 'string' },
        'shared-libc': { type: 'boolean' },
      },
    });
    if (line === null) return 0;
    const { values, tracing, optional } = line;
    const value = parseValueName(stringOption(values, 'value'));
    const reports = reportRequests(line.outputs, line.format);
    const eventsOut = stringOption(values, 'events');
    await checkReportPaths([...reports.map((report) => report.path), tracing.rawOut, eventsOut]);
    const lib = stringOption(values, 'lib');
    return runMalloc(
      {
        ...tracing,
        backend: io.backend,
        reports,
        allocator: optional('allocator', parseAllocatorName),
        // DTrace takes a module name (libsystem_malloc.dylib), validated when the D program is built.
        lib: lib === null ? null : io.backend === 'dtrace' ? lib : validateProbePath('--lib', lib),
        prefix: validateSymbolPrefix('--prefix', stringOption(values, 'prefix') ?? ''),
        mmap: values.mmap === true,
        js: values.js === true,
        minSize: optional('min-size', (text) => validateByteSize('--min-size', text)),
        maxSize: optional('max-size', (text) => validateByteSize('--max-size', text)),
        sampleEvery: optional('sample', (text) => validateInteger('--sample', text, 1, 1_000_000_000)) ?? 1,
        ...stackToolOptions(line, { min: 1, default: DEFAULT_STACK_DEPTH }),
        statusIntervalMs: optional('interval', (text) => validateDurationMs('--interval', text)),
        timelineIntervalMs: timelineOption(line),
        eventsOut,
        sharedLibc: values['shared-libc'] === true,
        value,
      },
      io,
    );
  },
};
