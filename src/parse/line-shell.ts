// The shell every line-by-line reader of tracer output and of saved logs (folded stacks, process
// logs, cPyMemTrace logs) stands in: it numbers the lines, and a line that is the format's but
// broken (the dialect throws Malformed) either stops the read with a ParseError naming the file,
// the line and what was expected (strict), or is skipped and counted (lenient). Lines that are not the format's at all (foreign: a target's own output) are counted
// beside them, in one LineCounts every parser's result carries. A dialect adds only its cases:
//   const shell = new LineShell({ source: 'trace.log', format: 'memtrace gc trace', lenient });
//   for await (const line of logLines(path)) shell.line(line, readRecord, undefined);
// bpftrace's output has a shell of its own on top (BpftraceShell, bpftrace-output.ts): it drives
// BpftraceOutputReader and hands a dialect the records (printf, text, map, hist, lost…) one by one.
// memtrace's own JSON records in a --raw-out log (`memtrace_header`…) are read by readMemtraceRecord.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ParseError } from '../errors.js';
import type { LineCounts } from '../model/line-counts.js';

export type { LineCounts } from '../model/line-counts.js';

/** Thrown by a dialect for a line of its format that is broken; the shell adds file and line number. */
export class Malformed extends Error {
  /** at: an earlier line that proved malformed only now (a record cut short, then followed by more input). */
  constructor(
    readonly expected: string,
    readonly at?: { line: string; lineNumber: number },
  ) {
    super(expected);
  }
}

export interface LineShellOptions {
  /** Shown in errors: the file name, or a description of a live stream (`bpftrace`). */
  source: string;
  /** Shown in errors: "not valid FORMAT". A reader that learns its dialect from the first line may name it then. */
  format: string;
  /** Count malformed lines instead of failing on the first. */
  lenient?: boolean;
}

export class LineShell {
  /** The number of the line read last (1 for the first). */
  lineNumber = 0;
  /**
   * Under lenient, the error a strict read would have stopped at: for a reader whose input proves
   * unreadable only at its end (no header came), which then names the first bad line.
   */
  firstMalformed: ParseError | null = null;

  /** counts: where to count, the result object's own (`raw.lines`), so that it is up to date at every line. */
  constructor(
    readonly options: LineShellOptions,
    readonly counts: LineCounts = emptyLineCounts(),
  ) {}

  /**
   * Reads the next line (a CRLF file's "\r" dropped) with `read`; returns what it returns, or
   * `skipped` when the line was malformed (lenient). Then `recover` (if given) forgets the record
   * the line was in; when the Malformed named an earlier line (`at`), this line is still unread,
   * and is read once more.
   */
  line<T>(rawLine: string, read: (line: string) => T, skipped: T, recover?: () => void): T {
    this.lineNumber += 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        return read(line);
      } catch (error) {
        this.malformed(error, line);
        recover?.();
        if ((error as Malformed).at === undefined) return skipped;
      }
    }
    return skipped;
  }

  /** Runs `read` for the current line (already numbered), as line() does. */
  guard<T>(line: string, read: () => T, skipped: T): T {
    try {
      return read();
    } catch (error) {
      this.malformed(error, line);
      return skipped;
    }
  }

  /**
   * A Malformed for `line` (or for the earlier line it names): a ParseError when strict, counted
   * when lenient. Any other error is thrown again. `line` undefined: the error shows no line.
   */
  malformed(error: unknown, line: string | undefined): void {
    if (!(error instanceof Malformed)) throw error;
    const problem = () => {
      const at = error.at ?? { line, lineNumber: this.lineNumber };
      return new ParseError({
        file: this.options.source,
        lineNumber: at.lineNumber,
        format: this.options.format,
        expected: error.expected,
        line: at.line,
      });
    };
    if (!this.options.lenient) throw problem();
    this.counts.malformed += 1;
    this.firstMalformed ??= problem();
  }

  /** A line that is not the format's (see LineCounts.foreign). */
  foreign(): void {
    this.counts.foreign += 1;
  }
}

export function emptyLineCounts(): LineCounts {
  return { malformed: 0, foreign: 0 };
}

/** The lines of a saved log, streamed (a CRLF file's too). */
export function logLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
}

/** memtrace's own records in a raw log (--raw-out), kept as they are; their shapes are written by the tools (tools/malloc/malloc.ts…). */
export interface MemtraceRecords {
  header: Record<string, unknown> | null;
  maps: unknown[];
  symbols: Record<string, { name: string; module: string | null }> | null;
  trailer: Record<string, unknown> | null;
}

export function emptyMemtraceRecords(): MemtraceRecords {
  return { header: null, maps: [], symbols: null, trailer: null };
}

/**
 * Keeps one of memtrace's own records of a raw log (header, maps, symbols, trailer) in `records`;
 * returns false for a JSON line of another type (not memtrace's: the caller judges it). Throws
 * Malformed for a record of memtrace's whose data is not an object (`expected` says so; the gc
 * reader words it its own way). The calls tool's header has a type of its own (calls-log.ts).
 */
export function readMemtraceRecord(
  records: MemtraceRecords,
  type: string,
  data: unknown,
  expected = `an object as the data of ${type}`,
): boolean {
  const object = () => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Malformed(expected);
    return data as Record<string, unknown>;
  };
  if (type === 'memtrace_header') records.header = object();
  else if (type === 'memtrace_trailer') records.trailer = object();
  else if (type === 'memtrace_symbols') records.symbols = object() as MemtraceRecords['symbols'];
  else if (type === 'memtrace_maps') records.maps.push(data);
  else return false;
  return true;
}

const HEADER_LINE = /^\{"type": ?"memtrace_header".*$/m;

/**
 * The data of a raw log's memtrace_header record, found in the head of the log (its first 64 KiB:
 * first-line.ts), or null: what a detector asks of a raw log (which tool, which tracer).
 */
export function memtraceHeaderOf(headText: string): Record<string, unknown> | null {
  const line = HEADER_LINE.exec(headText)?.[0];
  if (line === undefined) return null;
  try {
    const records = emptyMemtraceRecords();
    const { type, data } = JSON.parse(line) as { type: string; data: unknown };
    readMemtraceRecord(records, type, data);
    return records.header;
  } catch {
    return null;
  }
}
