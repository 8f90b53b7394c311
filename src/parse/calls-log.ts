// Reads the output of memtrace's calls program (src/probes/render-calls-bpf.ts, scripts/bpf/calls.bt)
// into a CallLog, line by line: bpftrace's `-f json` lines as memtrace runs it (and keeps with
// --raw-out, after a memtrace_header line), or the text form of a hand run. Records (bpftrace 0.17):
//
//   {"type": "attached_probes", "data": {"probes": 5}}
//   {"type": "printf", "data": "memtrace:begin calls\n"}
//   {"type": "printf", "data": "memtrace:calls 4096 4096 1\n"}
//   {"type": "printf", "data": "E\t1\t1\t8077312\t2\t/tmp/grow.py\thold_out_grow\n"}
//   {"type": "printf", "data": "P\t3\t1\t32325632\t7\t/tmp/grow.py\thold_out_release\n"}
//   {"type": "printf", "data": "E\t4\t2\t8183808\t8\t/tmp/grow.py\thold_out_release\n"}
//   {"type": "printf", "data": "E\t9\t4\t9289728\t1\n"}                 a native event (function 1)
//   {"type": "printf", "data": "memtrace:end 6 5 52\n"}
//
// E is an event logged because RSS moved (the first one is logged whatever RSS did), P the event
// before it kept as context, L the last event seen. bpftrace drains its per-CPU buffers in turn, so
// records may come out of order: they are put back in order of their sequence number at the end,
// and ΔRSS is taken from the record before in that order. Lost-event notices are counted into the
// log's lostEvents; "Attaching N probes" and the maps printed after the end marker are known noise.
import { CallEventKeeper, type CallEventRole, type CallLog, type CallLogHeader } from '../model/call-log.js';
import {
  CALLS_BEGIN_MARKER,
  CALLS_END_MARKER,
  CALLS_FUNC_MARKER,
  CALLS_OPTIONS_MARKER,
  KIND_CALL,
  KIND_NATIVE_ENTRY,
  KIND_NATIVE_RETURN,
  KIND_RETURN,
} from '../probes/render-calls-bpf.js';
import { BpftraceShell } from './bpftrace-output.js';
import { emptyMemtraceRecords, logLines, Malformed, readMemtraceRecord } from './line-shell.js';

const FORMAT = 'memtrace calls output';

const PYTHON_RECORD = /^([EPL])\t(\d+)\t([12])\t(-?\d+)\t(-?\d+)\t([^\t]*)\t([^\t]*)$/;
const NATIVE_RECORD = /^([EPL])\t(\d+)\t([34])\t(-?\d+)\t(\d+)$/;
const OPTIONS = new RegExp(`^${CALLS_OPTIONS_MARKER} (\\d+) (\\d+) ([01])$`);
const FUNC = new RegExp(`^${CALLS_FUNC_MARKER} (\\d+) (\\S+) (\\S+)$`);
const END = new RegExp(`^${CALLS_END_MARKER} (-?\\d+) (-?\\d+) (-?\\d+)$`);

/** The header memtrace writes first in a --raw-out log: what was traced, and what the user was told. */
export interface CallsRawHeader {
  target: { pid: number; command?: string[] } | null;
  start: string | null;
  host: string | null;
  notes: string[];
}

export const CALLS_RAW_HEADER_TYPE = 'memtrace_calls_header';

export interface CallsLogOptions {
  /** Named in errors. */
  file: string;
  lenient: boolean;
}

interface PendingEvent {
  tag: 'E' | 'P' | 'L';
  number: number;
  kind: number;
  rss: number;
  line: number;
  file: string;
  function: string;
}

export class CallsLogParser {
  private readonly shell: BpftraceShell<never>;
  private readonly pending: PendingEvent[] = [];
  private readonly functions = new Map<number, { library: string; symbol: string }>();
  private begun = false;
  private ended = false;
  private trigger: number | null = null;
  private linesOn = false;
  private seen: number | null = null;
  private lineEvents: number | null = null;
  private lost = 0;
  private readonly records = emptyMemtraceRecords();

  constructor(options: CallsLogOptions) {
    // attached_probes, and the maps bpftrace prints at exit after clear(), are noise, not events.
    this.shell = new BpftraceShell<never>(
      { source: options.file, format: FORMAT, lenient: options.lenient },
      {
        text: (text) => this.record(text),
        lost: (events) => {
          this.lost += events;
        },
        other: (type, data) => {
          if (type === CALLS_RAW_HEADER_TYPE) readMemtraceRecord(this.records, 'memtrace_header', data, `an object as the data of ${type}`);
        },
      },
    );
  }

  /** Whether the program's BEGIN ran (every probe attached). */
  get started(): boolean {
    return this.begun;
  }

  push(line: string): void {
    this.shell.push(line);
  }

  private record(text: string): void {
    if (text === CALLS_BEGIN_MARKER) {
      this.begun = true;
      return;
    }
    if (!this.begun || this.ended) {
      this.shell.foreign();
      return;
    }
    const python = PYTHON_RECORD.exec(text);
    if (python) {
      this.pending.push({
        tag: python[1] as PendingEvent['tag'],
        number: Number(python[2]),
        kind: Number(python[3]),
        rss: Number(python[4]),
        line: Number(python[5]),
        file: python[6]!,
        function: python[7]!,
      });
      return;
    }
    const native = NATIVE_RECORD.exec(text);
    if (native) {
      const fn = this.functions.get(Number(native[5]));
      if (fn === undefined) throw new Malformed(`a native function id declared by a memtrace:func line (got ${native[5]})`);
      this.pending.push({
        tag: native[1] as PendingEvent['tag'],
        number: Number(native[2]),
        kind: Number(native[3]),
        rss: Number(native[4]),
        line: 0,
        file: fn.library,
        function: fn.symbol,
      });
      return;
    }
    const options = OPTIONS.exec(text);
    if (options) {
      this.trigger = Number(options[1]);
      this.linesOn = options[3] === '1';
      return;
    }
    const func = FUNC.exec(text);
    if (func) {
      this.functions.set(Number(func[1]), { library: func[2]!, symbol: func[3]! });
      return;
    }
    const end = END.exec(text);
    if (end) {
      this.ended = true;
      this.seen = Number(end[1]);
      this.lineEvents = this.linesOn ? Number(end[3]) : null;
      return;
    }
    if (/^[EPL]\t/.test(text) || text.startsWith('memtrace:')) {
      throw new Malformed('an event record (E|P|L, sequence, kind, RSS, then line, file, function or a function id) or a memtrace: marker');
    }
    this.shell.foreign();
  }

  /** The log read so far; `notes` are added to the tracer's (what memtrace told the user before tracing). */
  finish(extra: { header?: Partial<CallsRawHeader>; notes?: string[]; partialReason?: string | null } = {}): CallLog {
    const cut = this.shell.finish();
    if (cut !== null) this.shell.malformed(cut, '');
    const events = orderEvents(this.pending);
    const rawHeader = this.records.header as CallsRawHeader | null;
    const raw = { ...(rawHeader ?? { target: null, start: null, host: null, notes: [] }), ...extra.header };
    const header: CallLogHeader = {
      tool: 'calls',
      source: 'memtrace',
      mode: null,
      target: raw.target ?? null,
      start: raw.start ?? null,
      host: raw.host ?? null,
      clock: null,
      message: null,
      trigger: this.trigger,
      lostEvents: this.begun ? this.lost : null,
    };
    const partialReason =
      extra.partialReason ??
      (!this.begun
        ? 'the tracer never started (no memtrace:begin calls line)'
        : !this.ended
          ? 'the trace was cut before its end marker (memtrace:end)'
          : null);
    return {
      header,
      ...events,
      messages: [],
      partial: partialReason !== null,
      partialReason,
      repeatedContext: 0,
      badLines: this.shell.counts.malformed,
      // Only when a line was skipped: a json report does not carry the counts yet, and reads back equal.
      ...(this.shell.counts.malformed + this.shell.counts.foreign > 0 ? { lines: { ...this.shell.counts } } : {}),
      tracer: { seenEvents: this.seen, lineEvents: this.lineEvents, notes: [...(raw.notes ?? []), ...(extra.notes ?? [])] },
    };
  }
}

/** Records in sequence order, each event once, with ΔRSS from the record before (the first is a baseline). */
function orderEvents(pending: PendingEvent[]): ReturnType<CallEventKeeper['finish']> {
  const sorted = [...pending].sort((a, b) => a.number - b.number);
  const events = new CallEventKeeper();
  let previousRss = 0;
  for (const record of sorted) {
    if (events.last?.number === record.number) continue;
    const role: CallEventRole = events.last === null ? 'first' : record.tag === 'P' ? 'prev' : record.tag === 'L' ? 'last' : 'next';
    events.push({
      event: eventName(record.kind),
      file: record.file,
      line: record.line,
      function: record.function,
      rss: record.rss,
      drss: record.rss - previousRss,
      number: record.number,
      clock: null,
      role,
    });
    previousRss = record.rss;
  }
  return events.finish();
}

function eventName(kind: number): string {
  switch (kind) {
    case KIND_CALL:
      return 'CALL';
    case KIND_RETURN:
      return 'RETURN';
    case KIND_NATIVE_ENTRY:
      return 'ENTRY';
    case KIND_NATIVE_RETURN:
      return 'RETURN';
    default:
      return `KIND${kind}`;
  }
}

/** Whether the head of a log is the calls program's output (raw or hand run). */
export function looksLikeCallsLog(headText: string): boolean {
  return headText.includes(CALLS_BEGIN_MARKER) || headText.includes(`"${CALLS_RAW_HEADER_TYPE}"`);
}

export async function readCallsLog(path: string, options: { lenient: boolean }): Promise<CallLog> {
  const parser = new CallsLogParser({ file: path, lenient: options.lenient });
  for await (const line of logLines(path)) parser.push(line);
  return parser.finish();
}
