// The shape every command module has: its help text is its documentation (docs/commands/).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

/** The tracer a command drives: bpftrace (Linux) or DTrace (macOS). */
export type Backend = 'bpf' | 'dtrace';

export interface CommandIo {
  program: string;
  /** memtrace-bpf and memtrace-dtrace pin it; memtrace chooses by platform. */
  backend: Backend;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface Command {
  name: string;
  summary: string;
  /** Needs a tracing backend (bpftrace or DTrace), as opposed to offline work. */
  needsBackend: boolean;
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** parseArgs with memtrace's error style; everything after `--` is returned apart, untouched. */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[]; command: string[] | null } {
  const separator = argv.indexOf('--');
  const own = separator === -1 ? argv : argv.slice(0, separator);
  const command = separator === -1 ? null : argv.slice(separator + 1);
  try {
    const parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true });
    return { values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals, command };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^TypeError \[[A-Z_]+\]: /, '') : String(error));
  }
}

export function stringOption(values: Record<string, unknown>, name: string): string | null {
  const value = values[name];
  return typeof value === 'string' ? value : null;
}
