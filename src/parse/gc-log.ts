// Parses the output of memtrace's gc bpftrace program (src/probes/render-gc-bpf.ts), live or from a
// saved log: bpftrace's text output (scripts/bpf/gc.bt run by hand) or its `-f json` output, plus,
// in a raw log written by `memtrace gc --raw-out`, memtrace's own `memtrace_header` and
// `memtrace_trailer` records. Example input (bpftrace 0.17, text form):
//   Attaching 4 probes...
//   memtrace:begin gc 1944324763190
//   G 1947229244027 10986885 22302 1 21 44220416 44482560
//   G 1947240796373 7156261 22302 1 21 44613632 44613632
//   Lost 3 events
//   memtrace:end 1947564896087
// and in JSON form: {"type": "printf", "data": "G 1947229244027 10986885 22302 1 21 44220416 44482560\n"}.
// A `G` record is START_NS PAUSE_NS TID COLLECTOR REASON RSS_BEFORE RSS_AFTER (see render-gc-bpf.ts).
//
// One line at a time (push), memory bounded by the collections kept. A broken `G` record or JSON
// line throws ParseError naming the file and line, or, when lenient, is counted in raw.lines.malformed.
// Known noise (bpftrace's "Attaching N probes..." banner) is counted; other text lines (a target's
// own output in a hand-run `bpftrace -c` log) are counted apart; lost events are summed.
import { ParseError } from '../errors.js';
import { BpftraceShell } from './bpftrace-output.js';
import { emptyLineCounts, emptyMemtraceRecords, logLines, Malformed, readMemtraceRecord, type LineCounts } from './line-shell.js';
import { GC_BEGIN_MARKER, GC_END_MARKER, GC_RECORD_TAG } from '../probes/render-gc-bpf.js';

export const GC_LOG_FORMAT = 'memtrace gc trace (bpftrace output of scripts/bpf/gc.bt)';

export interface GcRawCollection {
  startNs: number;
  pauseNs: number;
  tid: number;
  /** V8's GarbageCollector number (symbol probes) or v8::GCType bits (USDT). */
  collector: number;
  /** V8's GarbageCollectionReason number; null where the probe has none (-1 in the record). */
  reason: number | null;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface GcRaw {
  beginNs: number | null;
  endNs: number | null;
  collections: GcRawCollection[];
  lostEvents: number;
  /** bpftrace banners ("Attaching 4 probes...") and such: expected, counted. */
  noiseLines: number;
  /**
   * Malformed lines (skipped under lenient) and foreign ones (text that is not the program's: a
   * launched target's output in a hand-run log), counted as every reader counts them (line-shell.ts).
   */
  lines: LineCounts;
  /** The input ended inside a record (its last line is the start of one): a cut trace. */
  truncated: boolean;
  /** memtrace's own records in a raw log (written by tools/gc/gc.ts), as they are. */
  header: Record<string, unknown> | null;
  trailer: Record<string, unknown> | null;
}

const RECORD = /^G (\d+) (\d+) (\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+)$/;
/** What a cut record looks like: the tag and some of the numbers, the last one maybe cut short. */
const RECORD_START = /^G(?: -?\d*){0,7}$/;
const RECORD_EXPECTED = 'a gc record "G START_NS PAUSE_NS TID COLLECTOR REASON RSS_BEFORE RSS_AFTER" (7 integers)';
const BEGIN = new RegExp(`^${GC_BEGIN_MARKER} (\\d+)$`);
const END = new RegExp(`^${GC_END_MARKER} (\\d+)$`);

export interface GcLogParserOptions {
  /** The file name shown in errors ("-" or a description for a live trace). */
  file: string;
  lenient?: boolean;
}

export class GcLogParser {
  private readonly shell: BpftraceShell<GcRawCollection>;
  /**
   * A line that is the beginning of a record but not a whole one: the end of a cut trace if it is
   * the last line, broken input if another follows.
   */
  private partial: { line: string; lineNumber: number } | null = null;
  readonly raw: GcRaw = {
    beginNs: null,
    endNs: null,
    collections: [],
    lostEvents: 0,
    lines: emptyLineCounts(),
    noiseLines: 0,
    truncated: false,
    header: null,
    trailer: null,
  };
  private readonly records = emptyMemtraceRecords();

  constructor(private readonly options: GcLogParserOptions) {
    const raw = this.raw;
    // The program clears its only map in END; a map here is not from it.
    const notAMap = (): never => {
      throw new Malformed('a gc record, not a bpftrace map');
    };
    this.shell = new BpftraceShell(
      { source: options.file, format: GC_LOG_FORMAT, lenient: options.lenient },
      {
        text: (text, line) => this.text(text, line),
        attached: () => {
          raw.noiseLines += 1;
        },
        lost: (events) => {
          raw.lostEvents += events;
        },
        other: (type, data) => {
          if (!readMemtraceRecord(this.records, type, data, `${type} data as an object`)) raw.noiseLines += 1;
          raw.header = this.records.header;
          raw.trailer = this.records.trailer;
        },
        map: notAMap,
        hist: notAMap,
      },
      raw.lines,
    );
  }

  /** Reads one line; returns the collections it completed (for a live status line). */
  push(line: string): GcRawCollection[] {
    if (this.partial !== null) {
      const partial = this.partial;
      this.partial = null;
      this.shell.malformed(new Malformed(RECORD_EXPECTED, partial), undefined);
    }
    return this.shell.push(line);
  }

  /** The whole trace, once the input has ended. Throws for input that never began. */
  finish(): GcRaw {
    if (this.partial !== null) this.raw.truncated = true;
    const lineNumber = this.shell.lineNumber;
    if (this.raw.beginNs === null) {
      throw new ParseError({
        file: this.options.file,
        // Line 1 for an empty file: "FILE:0" names no line an editor can open.
        lineNumber: Math.max(1, lineNumber),
        format: GC_LOG_FORMAT,
        expected:
          lineNumber === 0 ? `"${GC_BEGIN_MARKER} NS", but the input is empty` : `"${GC_BEGIN_MARKER} NS" before the end of the input`,
      });
    }
    // Records are printed as collections end; threads (worker isolates) may end out of start order.
    this.raw.collections.sort((a, b) => a.startNs - b.startNs);
    return this.raw;
  }

  private text(text: string, line: string): GcRawCollection[] {
    const begin = BEGIN.exec(text);
    if (begin) {
      this.raw.beginNs = Number(begin[1]);
      return [];
    }
    const end = END.exec(text);
    if (end) {
      this.raw.endNs = Number(end[1]);
      return [];
    }
    if (text.startsWith(`${GC_RECORD_TAG} `)) {
      const match = RECORD.exec(text);
      if (!match) {
        if (RECORD_START.test(text) && text === line) {
          this.partial = { line, lineNumber: this.shell.lineNumber };
          return [];
        }
        throw new Malformed(RECORD_EXPECTED);
      }
      if (this.raw.beginNs === null) throw new Malformed(`"${GC_BEGIN_MARKER} NS" before the first gc record`);
      const [startNs, pauseNs, tid, collector, reason, rssBefore, rssAfter] = match.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const collection: GcRawCollection = {
        startNs,
        pauseNs,
        tid,
        collector,
        reason: reason < 0 ? null : reason,
        rssBeforeBytes: rssBefore,
        rssAfterBytes: rssAfter,
      };
      this.raw.collections.push(collection);
      return [collection];
    }
    this.shell.foreign();
    return [];
  }
}

/** Streams a saved gc log line by line. */
export async function parseGcLogFile(path: string, options: { lenient?: boolean } = {}): Promise<GcRaw> {
  const parser = new GcLogParser({ file: path, lenient: options.lenient });
  for await (const line of logLines(path)) parser.push(line);
  return parser.finish();
}
