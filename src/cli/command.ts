// The shape every command module has: its help text is its reference, quoted in each tool's page
// under docs/tools/ (test/docs/help-blocks.test.ts keeps the two equal).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { MAX_STACK_DEPTH } from '../probes/malloc-spec.js';
import {
  validateDurationMs,
  validateInteger,
  validateMapEntries,
  validatePid,
  validateProbePath,
  validateTop,
} from '../probes/validate.js';
import { parseStackUnwinder, type StackUnwinder } from '../run/stack-unwinder.js';
import type { Target } from '../run/target.js';
import type { TracingOptions } from '../tools/common/tracing.js';

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

/** The options every tracing command (malloc, external, gc, faults, calls) takes alike. */
export const TRACING_OPTIONS = {
  pid: { type: 'string', short: 'p' },
  output: { type: 'string', short: 'o', multiple: true },
  format: { type: 'string', short: 'f' },
  'raw-out': { type: 'string' },
  duration: { type: 'string', short: 'd' },
  'tracer-path': { type: 'string' },
  'print-script': { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The options of the tools that report by user stack (malloc, external, faults): how stacks are
 * unwound and how deep, the capacity of the program's maps, the value ranked and the rows shown.
 */
export const STACK_OPTIONS = {
  stacks: { type: 'string' },
  'stack-depth': { type: 'string' },
  'map-entries': { type: 'string' },
  value: { type: 'string' },
  top: { type: 'string' },
} as const;

/** STACK_OPTIONS' values, checked (but --value, whose names are each tool's): the stack depth from `depth.min` to MAX_STACK_DEPTH. */
export function stackToolOptions(
  line: TracingCommandLine,
  depth: { min: number; default: number },
): { stacks: StackUnwinder | null; stackDepth: number; mapEntries: number; top: number } {
  return {
    stacks: stackUnwinderOption(line.values),
    stackDepth: line.optional('stack-depth', (text) => validateInteger('--stack-depth', text, depth.min, MAX_STACK_DEPTH)) ?? depth.default,
    mapEntries: validateMapEntries(stringOption(line.values, 'map-entries')),
    top: validateTop(stringOption(line.values, 'top')),
  };
}

/** The last lines of every tracing tool's help: the options parseTracingCommand reads for all of them. */
export const TRACING_HELP_END = `      --tracer-path PATH  the bpftrace to run
      --print-script      print the bpftrace program and exit
      --verbose           show stack traces of errors
  -h, --help              this help`;

/** Its line in each such tool's help, aligned with the other options. */
export const STACKS_HELP = `      --stacks fp|dwarf   how user stacks are unwound: dwarf (DWARF call-frame
                          information, bpftrace 0.26 or later; the default where
                          the bpftrace has it, but for node: only fp reaches
                          JS frames) or fp (frame pointers: cheaper,
                          cut short in code built without them)`;

/** --timeline, for the tools whose programs keep live blocks by stack (malloc, external). */
export const TIMELINE_OPTIONS = { timeline: { type: 'string' } } as const;

/** Its line in those tools' help. */
export const TIMELINE_HELP = `      --timeline TIME     every TIME (at least 100ms), every stack's bytes
                          still outstanding, kept in the kernel; at the end the
                          stacks that keep growing, ranked by how steadily,
                          with their rate (json: timeline and growth; table
                          and html: the ranking)`;

/** --timeline's interval in milliseconds, or null without it. */
export function timelineOption(line: TracingCommandLine): number | null {
  return line.optional('timeline', (text) => validateDurationMs('--timeline', text));
}

/** --stacks as given, or null: the tool then chooses (src/run/stack-unwinder.ts). */
export function stackUnwinderOption(values: Record<string, unknown>): StackUnwinder | null {
  const text = stringOption(values, 'stacks');
  return text === null ? null : parseStackUnwinder(text);
}

/**
 * What a tracing command traces: -p PID (checked) or the command after --, never both, never
 * neither. `launchWords` says what may be launched ("COMMAND [ARGS...]", "node [ARGS...]").
 */
export function tracingTarget(
  parsed: { values: Record<string, unknown>; positionals: string[]; command: string[] | null },
  launchWords = 'COMMAND [ARGS...]',
): Target {
  if (parsed.positionals.length > 0)
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}" (a command to launch goes after --)`);
  const pidText = stringOption(parsed.values, 'pid');
  if (pidText !== null && parsed.command !== null) throw new UsageError('give either -p PID or -- COMMAND, not both');
  if (pidText === null && (parsed.command === null || parsed.command.length === 0))
    throw new UsageError(`nothing to trace: give -p PID or -- ${launchWords}`);
  return pidText !== null ? { kind: 'attach', pid: validatePid(pidText) } : { kind: 'launch', command: parsed.command! };
}

/**
 * A help text written for memtrace-bpf (`Usage: memtrace-bpf malloc`, and the examples' command
 * lines), under the name the user typed: memtrace, memtrace-bpf or memtrace-dtrace.
 */
export function helpUnder(help: string, tool: string, program: string): string {
  return help.replace(new RegExp(`^( {0,7})(Usage: |)memtrace-bpf ${tool}\\b`, 'gm'), `$1$2${program} ${tool}`);
}

/** A tracing command's arguments, parsed: the options all of them take, checked, and the tool's own. */
export interface TracingCommandLine {
  values: Record<string, string | boolean | string[] | undefined>;
  tracing: TracingOptions;
  /** -o paths, in order ("-" is stdout). */
  outputs: string[];
  /** -f: the format written to stdout. */
  format: string | null;
  /** The text of one of the tool's own options, parsed, or null when it was not given. */
  optional<T>(name: string, parse: (text: string) => T): T | null;
}

export interface TracingCommandSpec {
  tool: string;
  help: string;
  /** The tool's own options, besides TRACING_OPTIONS. */
  options: NonNullable<ParseArgsConfig['options']>;
  /** What may be launched, for the error when nothing is given ("COMMAND [ARGS...]", "node [ARGS...]"). */
  launchWords: string;
  /** Why the tool refuses DTrace, when it is bpftrace-only. */
  bpftraceOnly?: string;
}

/**
 * Parses a tracing command (malloc, external, gc, faults, calls) the one way: --help (printed under
 * the name the user typed; then null), the backend, the target, and the options every tool takes.
 */
export function parseTracingCommand(argv: string[], io: CommandIo, spec: TracingCommandSpec): TracingCommandLine | null {
  const parsed = parseCommandLine(argv, { ...TRACING_OPTIONS, ...spec.options });
  const { values } = parsed;
  if (values.help) {
    io.stdout.write(helpUnder(spec.help, spec.tool, io.program));
    return null;
  }
  if (spec.bpftraceOnly !== undefined && io.backend === 'dtrace') throw new UsageError(spec.bpftraceOnly);
  const target = tracingTarget(parsed, spec.launchWords);
  const optional = <T>(name: string, parse: (text: string) => T): T | null => {
    const text = stringOption(values, name);
    return text === null ? null : parse(text);
  };
  return {
    values,
    tracing: {
      target,
      durationMs: optional('duration', (text) => validateDurationMs('--duration', text)),
      rawOut: stringOption(values, 'raw-out'),
      printScript: values['print-script'] === true,
      tracerPath: optional('tracer-path', (text) => validateProbePath('--tracer-path', text)),
    },
    outputs: (values.output as string[] | undefined) ?? [],
    format: stringOption(values, 'format'),
    optional,
  };
}
