// memtrace's command line: picks the command and is the only place that catches errors, prints
// them (with the stack under --verbose) and turns them into the exit code.
import { MemtraceError, UsageError } from '../errors.js';
import type { Backend, Command } from './command.js';

/**
 * Every command, in the order of the usage text, by the module that holds it. A run loads only its
 * own command's modules: loading all of them (execa, node-pty, the tracing sessions) took 0.19 s
 * before `memtrace report` read a byte. The usage text loads them all, for their summaries.
 */
const COMMAND_MODULES: Readonly<Record<string, () => Promise<Command>>> = {
  malloc: async () => (await import('./commands/malloc.js')).mallocCommand,
  external: async () => (await import('./commands/external.js')).externalCommand,
  gc: async () => (await import('./commands/gc.js')).gcCommand,
  faults: async () => (await import('./commands/faults.js')).faultsCommand,
  calls: async () => (await import('./commands/calls.js')).callsCommand,
  process: async () => (await import('./commands/process.js')).processCommand,
  explain: async () => (await import('./commands/explain.js')).explainCommand,
  mark: async () => (await import('./commands/mark.js')).markCommand,
  'trace-malloc': async () => (await import('./commands/trace-malloc.js')).traceMallocCommand,
  'heap-stats': async () => (await import('./commands/heap-stats.js')).heapStatsCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  scripts: async () => (await import('./commands/scripts.js')).scriptsCommand,
  'setup-bpftrace': async () => (await import('./commands/setup-bpftrace.js')).setupBpftraceCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
};
export const COMMAND_NAMES = Object.keys(COMMAND_MODULES);

/** The command of that name, loaded; undefined for a name that is none. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return Object.hasOwn(COMMAND_MODULES, name) ? COMMAND_MODULES[name]!() : undefined;
}

async function usage(program: string): Promise<string> {
  const commands = await Promise.all(COMMAND_NAMES.map((name) => COMMAND_MODULES[name]!()));
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    `Usage: ${program} COMMAND [options]`,
    '',
    'Memory tracing for native, Node.js and Python processes.',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run "${program} COMMAND --help" for a command's options.`,
    '',
  ].join('\n');
}

/** `memtrace` traces with DTrace on macOS and with bpftrace elsewhere. */
export function resolveBackend(backend: Backend | 'auto', platform: NodeJS.Platform = process.platform): Backend {
  if (backend !== 'auto') return backend;
  return platform === 'darwin' ? 'dtrace' : 'bpf';
}

/**
 * A reader that stops early (`memtrace report big.log | head`) closes stdout: that is the reader's
 * choice, not a failure, so EPIPE on stdout is not reported (writeReport skips that report and goes
 * on with the files); without a listener Node would throw it as an uncaught 'error' event.
 */
function toleratePipeClosedEarly(): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.stderr.write(`memtrace: cannot write to standard output: ${error.message}\n`);
  });
}

export async function main(argv: string[], options: { program: string; backend: Backend | 'auto' }): Promise<number> {
  toleratePipeClosedEarly();
  const [name, ...rest] = argv;
  const separator = rest.indexOf('--');
  const verbose = (separator === -1 ? rest : rest.slice(0, separator)).includes('--verbose');
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      process.stdout.write(await usage(options.program));
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V') {
      const { readFile } = await import('node:fs/promises');
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`memtrace ${pkg.version}\n`);
      return 0;
    }
    const command = await loadCommand(name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${COMMAND_NAMES.join(', ')}`);
    const backend = resolveBackend(options.backend);
    if (options.backend === 'auto' && command.needsBackend && process.platform !== 'linux' && process.platform !== 'darwin') {
      throw new UsageError(`${command.name}: memtrace traces on Linux (bpftrace) and macOS (DTrace), not on ${process.platform}`);
    }
    return await command.run(rest, {
      program: options.program,
      backend,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (error) {
    if (error instanceof MemtraceError) {
      process.stderr.write(`${options.program}: ${error.message}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      if (error instanceof UsageError && name !== undefined) process.stderr.write(`Run "${options.program} ${name} --help" for usage.\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `${options.program}: internal error: ${error instanceof Error ? (verbose ? error.stack : error.message) : String(error)}\n`,
    );
    return 70;
  }
}
