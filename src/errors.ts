// Every failure memtrace reports on purpose is a MemtraceError carrying its exit code; cli/main.ts is
// the only place that catches them, prints the message and exits with that code.

export class MemtraceError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** The command line asks for something impossible: exit code 2, like most Unix tools. */
export class UsageError extends MemtraceError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

/** Input of a known format that is broken: names the file, the line and what was expected. */
export class ParseError extends MemtraceError {
  readonly file: string;
  readonly lineNumber: number;
  readonly format: string;
  constructor(options: { file: string; lineNumber: number; format: string; expected: string; line?: string }) {
    const shown = options.line === undefined ? '' : `: ${JSON.stringify(truncate(options.line, 120))}`;
    super(`${readablePath(options.file)}:${options.lineNumber}: not valid ${options.format}: expected ${options.expected}${shown}`, {
      exitCode: 3,
    });
    this.file = options.file;
    this.lineNumber = options.lineNumber;
    this.format = options.format;
  }
}

/** The tracer could not be found, started, or died. */
export class TracerError extends MemtraceError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { exitCode: options.exitCode ?? 4, cause: options.cause });
  }
}

/** The target could not be started or attached to. */
export class TargetError extends MemtraceError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { exitCode: options.exitCode ?? 5, cause: options.cause });
  }
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length)}…`;
}

/** An output file could not be created or written (disk full, read-only, gone): exit code 6. */
export class OutputError extends MemtraceError {
  readonly path: string;
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, { exitCode: 6, cause: options.cause });
    this.path = options.path;
  }
}

/**
 * A path as a message shows it: as it is, unless it holds a control character (a newline, a tab,
 * an escape), which would split or garble the message; then JSON-quoted, so that the user sees
 * exactly which file is meant.
 */
export function readablePath(path: string): string {
  return /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
}
