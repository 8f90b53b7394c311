// memtrace's command line: picks the command and is the only place that catches errors, prints
// them (with the stack under --verbose) and turns them into the exit code.
import { MemtraceError, UsageError } from '../errors.js';
import { gcCommand } from './commands/gc.js';
import { mallocCommand } from './commands/malloc.js';
import { heapStatsCommand } from './commands/heap-stats.js';
import { markCommand } from './commands/mark.js';
import { processCommand } from './commands/process.js';
import { reportCommand } from './commands/report.js';
import { scriptsCommand } from './commands/scripts.js';
import { traceMallocCommand } from './commands/trace-malloc.js';
import type { Command } from './command.js';

// New tools are appended: the order is the help text's, and tests expect the older ones' order.
const COMMANDS: Command[] = [mallocCommand, processCommand, markCommand, traceMallocCommand, heapStatsCommand, reportCommand, scriptsCommand, gcCommand];

function usage(program: string): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    `Usage: ${program} COMMAND [options]`,
    '',
    'Memory tracing for native, Node.js and Python processes.',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    `Run "${program} COMMAND --help" for a command's options.`,
    '',
  ].join('\n');
}

export async function main(argv: string[], options: { program: string; backend: 'bpf' | 'auto' }): Promise<number> {
  const [name, ...rest] = argv;
  const separator = rest.indexOf('--');
  const verbose = (separator === -1 ? rest : rest.slice(0, separator)).includes('--verbose');
  try {
    if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
      process.stdout.write(usage(options.program));
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V') {
      const { readFile } = await import('node:fs/promises');
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`memtrace ${pkg.version}\n`);
      return 0;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (command === undefined) throw new UsageError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    if (options.backend === 'auto' && command.needsBackend && process.platform !== 'linux') {
      throw new UsageError(`${command.name}: on ${process.platform} use memtrace-dtrace (not available in this version)`);
    }
    return await command.run(rest, {
      program: options.program,
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
    process.stderr.write(`${options.program}: internal error: ${error instanceof Error ? (verbose ? error.stack : error.message) : String(error)}\n`);
    return 70;
  }
}
