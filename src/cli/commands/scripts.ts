import { UsageError } from '../../errors.js';
import { renderStandaloneMallocD } from '../../tools/malloc/d-script.js';
import { renderStandalonePyMallocD } from '../../tools/malloc/pymalloc-d-script.js';
import { renderStandaloneExternalScript } from '../../tools/external/script.js';
import { renderStandaloneGcScript } from '../../tools/gc/script.js';
import { renderStandaloneFaultsScript } from '../../tools/faults/script.js';
import { renderStandaloneCallsScript } from '../../tools/calls/script.js';
import { renderStandaloneMallocScript } from '../../tools/malloc/script.js';
import { parseCommandLine, stringOption, type Backend, type Command } from '../command.js';

export const SCRIPTS_HELP = `Usage: memtrace scripts [--backend bpf|dtrace] [--lib MODULE] TOOL

Prints the standalone tracer program of a tool, as checked in under
scripts/bpf/ (bpftrace) and scripts/dtrace/ (DTrace): documented, runnable by
hand, and readable by memtrace report. memtrace-bpf prints bpftrace programs,
memtrace-dtrace D programs; memtrace the platform's.

Tools:
  malloc     every malloc-family call by stack, with outstanding blocks
  external   Node's ArrayBuffer backing stores by stack (bpftrace only)
  gc         every V8 garbage collection of a node (bpftrace only)
  faults     page faults, brk growth and mmap lengths by stack (bpftrace only)
  calls      RSS at every Python call and return (bpftrace only)
  pymalloc   malloc/free by the Python function calling them (DTrace only)

  --backend NAME   bpf or dtrace, whatever the command's own backend
  --lib MODULE     pymalloc: the allocator's module for the pid provider
                   (default libsystem_malloc.dylib; libc.so.6 for DTrace
                   for Linux)
  -h, --help       this help
`;

/** The tools whose standalone program takes --lib (the others name their allocator in the program). */
const TAKES_LIB = new Set(['pymalloc']);

/** The standalone programs, by backend and tool. */
const SCRIPTS: Record<Backend, Record<string, (lib?: string) => string>> = {
  bpf: {
    malloc: renderStandaloneMallocScript,
    external: renderStandaloneExternalScript,
    gc: renderStandaloneGcScript,
    faults: renderStandaloneFaultsScript,
    calls: renderStandaloneCallsScript,
  },
  dtrace: { malloc: renderStandaloneMallocD, pymalloc: renderStandalonePyMallocD },
};

export const scriptsCommand: Command = {
  name: 'scripts',
  summary: "print a tool's standalone bpftrace or D program",
  needsBackend: false,
  async run(argv, io) {
    const { values, positionals } = parseCommandLine(argv, {
      backend: { type: 'string' },
      lib: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      verbose: { type: 'boolean' },
    });
    if (values.help) {
      io.stdout.write(SCRIPTS_HELP);
      return 0;
    }
    const backendName = stringOption(values, 'backend') ?? io.backend;
    if (backendName !== 'bpf' && backendName !== 'dtrace') throw new UsageError(`--backend: expected bpf or dtrace, got "${backendName}"`);
    const tools = SCRIPTS[backendName];
    const render = positionals.length === 1 && Object.hasOwn(tools, positionals[0]!) ? tools[positionals[0]!] : undefined;
    if (render === undefined) throw new UsageError(`expected a tool name: ${Object.keys(tools).join(', ')} (${backendName})`);
    const lib = stringOption(values, 'lib');
    if (lib !== null && !TAKES_LIB.has(positionals[0]!))
      throw new UsageError(
        `--lib: only ${[...TAKES_LIB].join(', ')} takes a module here (to trace malloc in another module, run memtrace-dtrace malloc --lib MODULE)`,
      );
    // The checked-in program names macOS's allocator; on Linux it compiles only with -Z and then
    // counts nothing, silently (DTrace for Linux: the module is libc.so.6).
    if (lib === null && TAKES_LIB.has(positionals[0]!) && process.platform === 'linux') {
      io.stderr.write('memtrace: this program probes libsystem_malloc.dylib (macOS); for DTrace for Linux add --lib libc.so.6\n');
    }
    io.stdout.write(lib === null ? render() : render(lib));
    return 0;
  },
};
