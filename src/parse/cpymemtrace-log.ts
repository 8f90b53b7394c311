// Reads pymemtrace's cPyMemTrace Trace and Profile logs into a CallLog, line by line.
//
// cPyMemTrace (pymemtrace's C tracer, src/cpy/cPyMemTrace.c of github.com/paulross/pymemtrace, read
// at 009c2c5; the example logs in test/fixtures/pymemtrace/ come from a build that prefixes the
// header with "HDR:") writes one line per event at which RSS moved by at least its trigger (one page
// by default), between a start and an end marker:
//
//   SOF
//   HDR: Event        dEvent  Clock        What     File                        Line Function      RSS         dRSS
//   FRST: 0            +0      0.031050     LINE     /home/u/run_cpymemtrace.py    37 main      9736192      9736192
//   NEXT: 8            +7      0.031629     RETURN   /home/u/run_cpymemtrace.py    11 new_str  10719232       917504
//   PREV: 8            +7      0.031629     RETURN   /home/u/run_cpymemtrace.py    11 new_str  10719232       917504
//   NEXT: 13           +5      0.032168     RETURN   /home/u/run_cpymemtrace.py    11 new_str  11767808      1048576
//   LAST: 64           +3      0.036815     LINE     /home/u/run_cpymemtrace.py    37 main      9801728            0
//   EOF
//
// - The first line is "SOF", or the message the program gave cPyMemTrace.Trace(message=…): in place
//   of SOF in early versions, before it in later ones.
// - Later versions let the program write its own lines between events (write_message_to_log):
//   "MSG:  3            +1      4.211822     # text" — kept as messages, shown in the reports.
// - The column header may lack "HDR:" and the Clock column (both are build options of cPyMemTrace).
// - Fields are printf'd with minimum widths (file %-80s, function %-32s): a longer file name pushes
//   the columns right, so a line is split by its shape, not by column positions. The file may hold
//   spaces; the function is one word (Python identifiers, <module>, <lambda>, C function names), so
//   a line is read from both ends: number, dEvent, clock, what from the left; dRSS, RSS, function and
//   line from the right; the file is what lies between.
// - PREV: is the context kept before a NEXT. cPyMemTrace prints, under PREV:, the text of the last
//   event it logged, so in these logs a PREV repeats the NEXT above it (same event number, same
//   fields): it is that event again, kept once and counted in `repeatedContext`. A PREV with a new
//   event number (a tracer that keeps the event just before the move) is an event of its own, role
//   'prev'. A PREV with the previous number but other fields is malformed.
// - No EOF (the program was killed, the file copied while written): what was read, marked partial.
//
// The reader stands in the line shell (line-shell.ts): a malformed line is a ParseError naming the
// file and line, or counted under lenient (CallLog.badLines); a log without its column header
// cannot be read at all, lenient or not.
import { basename } from 'node:path';
import { ParseError } from '../errors.js';
import { LineShell, logLines, Malformed } from './line-shell.js';
import {
  CallEventKeeper,
  type CallEvent,
  type CallEventRole,
  type CallLog,
  type CallLogHeader,
  type CallLogMessage,
} from '../model/call-log.js';

const FORMAT = 'cPyMemTrace log';

/** The column header, with or without "HDR:" and the Clock column; pymemtrace spells "line" or "Line". */
const COLUMN_HEADER = /^(?:HDR:)?\s*Event\s+dEvent\s+(Clock\s+)?What\s+File\s+line\s+Function\s+RSS\s+dRSS\s*$/i;
const TAGGED = /^(FRST|NEXT|PREV|LAST):\s*(.*)$/;
/** A line the program wrote with write_message_to_log(): event count, +dEvent, [clock], "# " and its text. */
const MESSAGE = /^MSG:\s+(\d+)\s+\+(\d+)\s+(?:(\d+\.\d+)\s+)?# ?(.*)$/;
/** Event, +dEvent, [clock], what | file | line, function, RSS, dRSS (see the header comment). */
const WITH_CLOCK = /^(\d+)\s+\+(\d+)\s+(\d+\.\d+)\s+([A-Z_]+)\s(.*)\s(\d+)\s+(\S*)\s+(\d+)\s+(-?\d+)$/;
const WITHOUT_CLOCK = /^(\d+)\s+\+(\d+)\s+([A-Z_]+)\s(.*)\s(\d+)\s+(\S*)\s+(\d+)\s+(-?\d+)$/;

/** cPyMemTrace's event names (trimmed to 8 characters by it), and the untrimmed EXCEPTION of older builds. */
const EVENT_KINDS = new Set(['CALL', 'EXCEPT', 'EXCEPTION', 'LINE', 'RETURN', 'C_CALL', 'C_EXCEPT', 'C_RETURN', 'OPCODE']);
/** Events only a Trace receives, and events only a Profile receives (FRST/LAST are LINE in both). */
const TRACE_ONLY = new Set(['LINE', 'EXCEPT', 'EXCEPTION', 'OPCODE']);
const PROFILE_ONLY = new Set(['C_CALL', 'C_EXCEPT', 'C_RETURN']);

/**
 * cPyMemTrace's default file names (pymemtrace_util.c's create_filename): the UTC start, then the
 * PID (20201109_135213_3842.log); later versions add T or P, the nesting depth and the Python
 * version (20241107_195847_62264_P_0_PY3.13.0b3.log), then a file counter before the PID
 * (20241107_195847_17_62264_P_0_PY3.13.0b3.log).
 */
const DEFAULT_FILE_NAME = /^(\d{4})(\d\d)(\d\d)_(\d\d)(\d\d)(\d\d)_(?:\d+_)?(\d+)(?:_([PT])_\d+(?:_PY[^_]+)?)?\.log$/;

/** Whether the head of a log is a cPyMemTrace log: SOF or a column header first, or after a message line. */
export function looksLikeCPyMemTraceLog(headText: string): boolean {
  const lines = headText.split('\n', 3).map((line) => line.replace(/\r$/, ''));
  const [first = '', second = ''] = lines;
  return (
    first.trim() === 'SOF' ||
    COLUMN_HEADER.test(first) ||
    (second.trim() === 'SOF' && COLUMN_HEADER.test(lines[2] ?? '')) ||
    COLUMN_HEADER.test(second)
  );
}

export interface ReadCPyMemTraceLogOptions {
  /** Count malformed lines instead of stopping at the first. */
  lenient: boolean;
}

export async function readCPyMemTraceLog(path: string, options: ReadCPyMemTraceLogOptions): Promise<CallLog> {
  const reader = new CPyMemTraceLogReader(path, options);
  for await (const line of logLines(path)) reader.line(line);
  return reader.end();
}

type State = 'start' | 'header' | 'events' | 'ended';

/** The streaming reader: feed lines in order, then end(). */
export class CPyMemTraceLogReader {
  private state: State = 'start';
  private readonly shell: LineShell;
  private withClock = false;
  private message: string | null = null;
  private readonly events = new CallEventKeeper();
  private repeatedContext = 0;
  private sawSof = false;
  private sawLast = false;
  private readonly messages: CallLogMessage[] = [];
  private kinds = { trace: false, profile: false };
  /** An event line without an event's shape, held until the next line says whether the log was cut there. */
  private unreadable: { lineNumber: number; line: string; expected: string } | null = null;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly file: string,
    options: ReadCPyMemTraceLogOptions,
  ) {
    this.shell = new LineShell({ source: file, format: FORMAT, lenient: options.lenient });
  }

  line(text: string): void {
    this.shell.line(text, (line) => this.read(line), undefined);
  }

  private read(text: string): void {
    if (text.trim() === '') return;
    switch (this.state) {
      case 'start':
        if (text.trim() === 'SOF') {
          this.sawSof = true;
          this.state = 'header';
        } else if (COLUMN_HEADER.test(text)) {
          this.columnHeader(text);
        } else if (this.shell.lineNumber === 1) {
          // cPyMemTrace writes the program's message, when it gives one, where SOF would be.
          this.message = text;
          this.state = 'header';
        } else {
          this.fatal('SOF (or a message line), then the column header "HDR: Event dEvent Clock What File Line Function RSS dRSS"', text);
        }
        return;
      case 'header':
        // Later cPyMemTrace versions write the message first, then SOF.
        if (text.trim() === 'SOF' && this.message !== null && !this.sawSof) {
          this.sawSof = true;
          return;
        }
        if (!COLUMN_HEADER.test(text)) this.fatal('the column header "HDR: Event dEvent Clock What File Line Function RSS dRSS"', text);
        this.columnHeader(text);
        return;
      case 'events':
        this.flushUnreadable();
        if (text.trim() === 'EOF') {
          this.state = 'ended';
          return;
        }
        this.eventOrUnreadable(text);
        return;
      case 'ended':
        throw new Malformed('nothing after EOF (two logs joined into one file?)');
    }
  }

  end(): CallLog {
    if (this.state === 'start' || this.state === 'header') {
      const expected =
        this.shell.lineNumber === 0 || (this.state === 'start' && this.message === null)
          ? 'SOF and a column header; the file is empty'
          : 'the column header; the log stops before it';
      throw new ParseError({ file: this.file, lineNumber: Math.max(1, this.shell.lineNumber), format: FORMAT, expected });
    }
    const partial = this.state !== 'ended';
    // An unreadable last line with no EOF after it is where the log was cut, not a malformed line.
    const cut = this.unreadable === null ? '' : `, and line ${this.unreadable.lineNumber} is cut short`;
    this.unreadable = null;
    return {
      header: this.header(),
      ...this.events.finish(),
      messages: this.messages,
      partial,
      partialReason: partial ? `no EOF line${cut}: the log is cut (the program was killed, or the file was copied while written)` : null,
      repeatedContext: this.repeatedContext,
      badLines: this.shell.counts.malformed,
    };
  }

  private columnHeader(text: string): void {
    this.withClock = COLUMN_HEADER.exec(text)![1] !== undefined;
    this.state = 'events';
  }

  private eventLine(text: string): void {
    const message = MESSAGE.exec(text);
    if (message !== null) {
      if (this.sawLast) throw new Malformed('EOF after the LAST line');
      this.messages.push({ number: Number(message[1]), clock: message[3] === undefined ? null : Number(message[3]), text: message[4]! });
      return;
    }
    const tagged = TAGGED.exec(text);
    const tag = tagged?.[1];
    if (tagged === null && !/^\s*\d/.test(text)) {
      // cPyMemTrace lets the program write its own lines into the log (write_to_log()).
      throw new UnreadableLine(
        'an event line (FRST:, NEXT:, PREV: or LAST:, then the columns of the header); a line the traced program wrote into the log? --lenient counts such lines',
      );
    }
    const event = this.parseFields(tagged === null ? text.trim() : tagged[2]!.trimEnd(), roleOf(tag));
    const previous = this.events.last ?? undefined;
    if (this.sawLast) throw new Malformed('EOF after the LAST line');
    if (tag === 'FRST' && previous !== undefined) throw new Malformed('FRST only on the first event');
    if (tag === 'PREV' && previous !== undefined && event.number === previous.number) {
      if (!sameEvent(event, previous))
        throw new Malformed(`a PREV line that repeats event ${previous.number} as logged above, or a later event`);
      this.repeatedContext += 1;
      return;
    }
    if (previous !== undefined && event.number <= previous.number) {
      throw new Malformed(`an event number above ${previous.number} (events are logged in order)`);
    }
    if (tag === 'LAST') this.sawLast = true;
    if (TRACE_ONLY.has(event.event) && tag !== 'FRST' && tag !== 'LAST') this.kinds.trace = true;
    if (PROFILE_ONLY.has(event.event)) this.kinds.profile = true;
    this.events.push(event);
  }

  private parseFields(rest: string, role: CallEventRole): CallEvent {
    const match = (this.withClock ? WITH_CLOCK : WITHOUT_CLOCK).exec(rest);
    if (match === null) {
      throw new UnreadableLine(
        this.withClock
          ? 'an event: number, +dEvent, clock (seconds), what, file, line, function, RSS, dRSS'
          : 'an event: number, +dEvent, what, file, line, function, RSS, dRSS (the header has no Clock column)',
      );
    }
    // dEvent (the count since the event logged before) is not kept: the event numbers give it.
    const [number, , clock, what, file, line, name, rss, drss] = this.withClock
      ? match.slice(1)
      : [match[1], match[2], null, ...match.slice(3)];
    if (!EVENT_KINDS.has(what!)) throw new Malformed(`an event kind, one of ${[...EVENT_KINDS].join(', ')}, not ${what}`);
    return {
      event: this.intern(what!),
      file: this.intern(file!.trim()),
      line: Number(line),
      function: this.intern(name!),
      rss: Number(rss),
      drss: Number(drss),
      number: Number(number),
      clock: clock === null || clock === undefined ? null : Number(clock),
      role,
    };
  }

  /**
   * One copy of each file, function and kind name: a log names a few hundred of them across millions
   * of events, and a substring of a line would keep the whole line alive.
   */
  private intern(text: string): string {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    // A flat copy, not a view into the line it was cut from.
    const copy = Buffer.from(text, 'utf8').toString('utf8');
    this.names.set(copy, copy);
    return copy;
  }

  private header(): CallLogHeader {
    const name = DEFAULT_FILE_NAME.exec(basename(this.file));
    const fromName =
      name === null
        ? null
        : { start: `${name[1]}-${name[2]}-${name[3]}T${name[4]}:${name[5]}:${name[6]}Z`, pid: Number(name[7]), mode: name[8] };
    const mode =
      fromName?.mode === 'P'
        ? 'profile'
        : fromName?.mode === 'T'
          ? 'trace'
          : this.kinds.profile && !this.kinds.trace
            ? 'profile'
            : this.kinds.trace && !this.kinds.profile
              ? 'trace'
              : null;
    return {
      tool: 'calls',
      source: 'cpymemtrace',
      mode,
      target: fromName === null ? null : { pid: fromName.pid },
      start: fromName?.start ?? null,
      host: null,
      clock: this.withClock ? 'cpu' : null,
      message: this.message,
      trigger: null,
      lostEvents: null,
    };
  }

  /**
   * An event line; one that does not have the shape of one waits for the next line: if the log ends
   * there with no EOF, it is the line the cut went through (the log is partial), not a malformed one.
   */
  private eventOrUnreadable(text: string): void {
    try {
      this.eventLine(text);
    } catch (error) {
      if (!(error instanceof UnreadableLine)) throw error;
      this.unreadable = { lineNumber: this.shell.lineNumber, line: text, expected: error.expected };
    }
  }

  /** The held line was malformed after all (a line came after it): the shell judges it, then reads this line again. */
  private flushUnreadable(): void {
    if (this.unreadable === null) return;
    const { lineNumber, line, expected } = this.unreadable;
    this.unreadable = null;
    throw new Malformed(expected, { line, lineNumber });
  }

  /** A line that leaves the rest unreadable (no column header): thrown even with --lenient. */
  private fatal(expected: string, text: string): never {
    throw new ParseError({ file: this.file, lineNumber: this.shell.lineNumber, format: FORMAT, expected, line: text });
  }
}

/** A line without the shape of an event line (maybe the one a cut went through). */
class UnreadableLine extends Malformed {}

function roleOf(tag: string | undefined): CallEventRole {
  switch (tag) {
    case 'FRST':
      return 'first';
    case 'NEXT':
      return 'next';
    case 'PREV':
      return 'prev';
    case 'LAST':
      return 'last';
    default:
      return 'event';
  }
}

function sameEvent(a: CallEvent, b: CallEvent): boolean {
  return (
    a.event === b.event &&
    a.file === b.file &&
    a.line === b.line &&
    a.function === b.function &&
    a.rss === b.rss &&
    a.drss === b.drss &&
    a.clock === b.clock
  );
}
