// The CallLog model: memory (RSS) read at function events — calls, returns, lines — in the order
// they happened, each with the change since the event before. pymemtrace's cPyMemTrace Trace and
// Profile logs are read into it, and `memtrace calls` (Python USDT probes, native uprobes) will
// write it; the call-log table, json, tsv/csv and svg reports render it.
//
// A tracer of this kind logs only the events at which RSS moved by at least a trigger (one page by
// default), plus the event kept before as context: `events` holds each logged event once, in order.
import { BoundedRuns } from './bounded-runs.js';
import type { LineCounts } from './line-counts.js';

/** How an event came to be logged (cPyMemTrace's line tags; a tracer without tags logs 'event'). */
export type CallEventRole =
  /** The first event, logged whatever RSS did (cPyMemTrace's FRST:). */
  | 'first'
  /** RSS moved by at least the trigger at this event (NEXT:). */
  | 'next'
  /** Not a move itself: the event just before a NEXT, kept as context (PREV: with its own number). */
  | 'prev'
  /** The event at which tracing stopped (LAST:). */
  | 'last'
  /** An untagged event line. */
  | 'event';

export interface CallEvent {
  /** What happened: CALL, RETURN, LINE, EXCEPT, OPCODE (Python); C_CALL, C_RETURN, C_EXCEPT (C called from Python); ENTRY/RETURN for native functions. */
  event: string;
  /** Source file of the Python frame, or the library of a native function; '' when unknown. */
  file: string;
  /** Line number in `file`; 0 when unknown. */
  line: number;
  /** Function name; '' when unknown (no Python frame). */
  function: string;
  /** Resident set size after the event, bytes. */
  rss: number;
  /** RSS minus the tracer's previous reading, bytes. Equal to `rss` when there was no previous reading (it started from 0): see isBaseline. */
  drss: number;
  /** The tracer's event number: its count of every event it saw, logged or not. */
  number: number;
  /** Seconds on the tracer's clock (cPyMemTrace: the process's CPU time, clock()); null when not logged. */
  clock: number | null;
  role: CallEventRole;
}

export interface CallLogHeader {
  tool: 'calls';
  /** Who wrote the log. */
  source: 'cpymemtrace' | 'memtrace';
  /** cPyMemTrace's Trace (Python lines, calls, returns) or Profile (calls and returns, C ones too); null when the log does not tell. */
  mode: 'trace' | 'profile' | null;
  target: { pid: number; command?: string[] } | null;
  /** ISO 8601 wall clock of the start, when known. */
  start: string | null;
  host: string | null;
  /** What `clock` measures: the traced process's CPU time, or wall time since the start. */
  clock: 'cpu' | 'elapsed' | null;
  /** The text cPyMemTrace was given to write in place of its SOF line; null when none. */
  message: string | null;
  /** Bytes RSS had to move by for an event to be logged (memtrace calls --trigger); null when the log does not say (cPyMemTrace's does not). */
  trigger: number | null;
  /** Events the tracer could not deliver (bpftrace's lost events); null when the tracer does not count them. */
  lostEvents: number | null;
}

/** A line the traced program wrote into the log between events (cPyMemTrace's write_message_to_log, MSG:). */
export interface CallLogMessage {
  /** The tracer's event count when it was written. */
  number: number;
  clock: number | null;
  text: string;
}

export interface CallLog {
  header: CallLogHeader;
  /** Every logged event once, in log order (a bounded selection of them when `decimation` is set). */
  events: CallEvent[];
  /** The program's own lines, in log order. */
  messages: CallLogMessage[];
  /** The log ended early (no end marker); `partialReason` says how. */
  partial: boolean;
  partialReason: string | null;
  /** Context lines that repeated the event logged just before them (counted, not kept twice). */
  repeatedContext: number;
  /** Lines that could not be read, when read leniently. */
  badLines: number;
  /**
   * Malformed and foreign lines, as every log reader counts them; absent when none was skipped, or
   * when the log's reader does not count them (a json report does not carry them yet).
   */
  lines?: LineCounts;
  /** What the tracer counted and said about the trace (memtrace calls); absent when the log does not tell. */
  tracer?: CallLogTracer;
  /** Present when the log had more events than a CallLog keeps (MAX_KEPT_EVENTS): `read` came in, 1 in about `every` is kept. */
  decimation?: { read: number; every: number };
  /** Over every event read, when `events` does not hold them all. */
  functions?: FunctionGrowth[];
  summary?: CallLogSummary;
}

export interface CallLogTracer {
  /** Events the probes saw, logged or not; null when the trace ended before the tracer said. */
  seenEvents: number | null;
  /** Python line events (counted, not logged: the probe is on only to make 3.11 report calls); null when off. */
  lineEvents: number | null;
  /** What the user will and won't see (the interpreter's probes), and anything else worth saying. */
  notes: string[];
}

/**
 * Whether an event's ΔRSS is the whole RSS: the tracer had no reading before (its counter starts at
 * 0), so the figure is where the process stood, not what the event added. No process has an RSS of 0,
 * so drss === rss can mean nothing else. cPyMemTrace's FRST line is one, and so is its first NEXT.
 */
export function isBaseline(event: CallEvent): boolean {
  return event.drss === event.rss && event.rss > 0;
}

/** One function's share of RSS growth across a call log. */
export interface FunctionGrowth {
  function: string;
  file: string;
  /** Sum of the positive ΔRSS of its events (baselines excluded), bytes. */
  growth: number;
  /** Sum of the negative ΔRSS of its events, bytes (≤ 0). */
  shrink: number;
  /** Its logged events (baselines included). */
  events: number;
  /** Of which ΔRSS was positive (baselines excluded). */
  growthEvents: number;
}

/**
 * Functions ranked by RSS growth: the sum of the positive ΔRSS of their events (a function is its
 * name in its file), the largest first; ties by more events, then by name and file. Baselines
 * (isBaseline) count as events but add no growth.
 */
export function rankFunctionsByGrowth(events: Iterable<CallEvent>): FunctionGrowth[] {
  const tally = new FunctionGrowthTally();
  for (const event of events) tally.add(event);
  return tally.ranked();
}

/** rankFunctionsByGrowth one event at a time: what a reader keeps while it streams a log. */
export class FunctionGrowthTally {
  private readonly byFunction = new Map<string, FunctionGrowth>();

  add(event: CallEvent): void {
    const key = `${event.file}\u0000${event.function}`;
    let entry = this.byFunction.get(key);
    if (entry === undefined) {
      entry = { function: event.function, file: event.file, growth: 0, shrink: 0, events: 0, growthEvents: 0 };
      this.byFunction.set(key, entry);
    }
    entry.events += 1;
    if (isBaseline(event)) return;
    if (event.drss > 0) {
      entry.growth += event.drss;
      entry.growthEvents += 1;
    } else {
      entry.shrink += event.drss;
    }
  }

  ranked(): FunctionGrowth[] {
    return [...this.byFunction.values()].sort(
      (a, b) => b.growth - a.growth || b.events - a.events || compareText(a.function, b.function) || compareText(a.file, b.file),
    );
  }
}

export interface CallLogSummary {
  events: number;
  first: CallEvent | null;
  last: CallEvent | null;
  /** The first event at the highest RSS. */
  peak: CallEvent | null;
  /** Events by kind (CALL, RETURN…), in order of first appearance. */
  kinds: Array<{ event: string; count: number }>;
}

export function summarizeCallLog(log: CallLog): CallLogSummary {
  if (log.summary !== undefined) return log.summary;
  const summary = new CallLogSummaryTally();
  for (const event of log.events) summary.add(event);
  return summary.result();
}

/** summarizeCallLog one event at a time. */
class CallLogSummaryTally {
  private readonly kinds = new Map<string, number>();
  private count = 0;
  private first: CallEvent | null = null;
  private last: CallEvent | null = null;
  private peak: CallEvent | null = null;

  add(event: CallEvent): void {
    this.count += 1;
    this.first ??= event;
    this.last = event;
    if (this.peak === null || event.rss > this.peak.rss) this.peak = event;
    this.kinds.set(event.event, (this.kinds.get(event.event) ?? 0) + 1);
  }

  result(): CallLogSummary {
    return {
      events: this.count,
      first: this.first,
      last: this.last,
      peak: this.peak,
      kinds: [...this.kinds].map(([event, count]) => ({ event, count })),
    };
  }
}

/** The functions ranked by RSS growth of a log: counted over every event read, even those not kept. */
export function functionsOf(log: CallLog): FunctionGrowth[] {
  return log.functions ?? rankFunctionsByGrowth(log.events);
}

/**
 * How many events a call log keeps in memory. A trace of a busy program logs millions (a 1 GB
 * cPyMemTrace log holds about 2.6 million); past this bound, of each run of consecutive events only
 * the one whose RSS moved most is kept (the first, the last and the peak always are), and the
 * summary and the functions ranked by growth are counted over every event, so they stay exact.
 */
export const MAX_KEPT_EVENTS = 200_000;

/** Collects a log's events in order, in bounded memory: see MAX_KEPT_EVENTS. */
export class CallEventKeeper {
  private readonly events: BoundedRuns<CallEvent>;
  private latest: CallEvent | null = null;
  private readonly functions = new FunctionGrowthTally();
  private readonly summary = new CallLogSummaryTally();

  constructor(maxEvents: number = MAX_KEPT_EVENTS) {
    this.events = new BoundedRuns(
      maxEvents,
      (candidate, held) => Math.abs(candidate.drss) > Math.abs(held.drss),
      'CallEventKeeper: maxEvents',
    );
  }

  /** The event pushed last (kept or not). */
  get last(): CallEvent | null {
    return this.latest;
  }

  push(event: CallEvent): void {
    this.latest = event;
    this.functions.add(event);
    this.summary.add(event);
    this.events.push(event);
  }

  /** What a CallLog takes from the keeper: the kept events, and when some were left out, how, with the exact counts. */
  finish(): Pick<CallLog, 'events' | 'decimation' | 'functions' | 'summary'> {
    const events = this.events.items();
    const summary = this.summary.result();
    if (this.events.runLength === 1) return { events };
    // The peak and the last event are always shown, in their place.
    for (const must of [summary.peak, summary.last]) {
      if (must !== null && !events.includes(must)) {
        const at = events.findIndex((event) => event.number > must.number);
        events.splice(at === -1 ? events.length : at, 0, must);
      }
    }
    return { events, decimation: { read: summary.events, every: this.events.runLength }, functions: this.functions.ranked(), summary };
  }
}

/** What a decimated call log left out, in words for every report, or null when it kept every event. */
export function callLogDecimationNote(log: CallLog): string | null {
  if (log.decimation === undefined) return null;
  return `memory bounded: ${log.decimation.read.toLocaleString('en-US')} events read, ${log.events.length.toLocaleString('en-US')} kept (the largest RSS move of each ${log.decimation.every} in a row; the first, the last and the peak always; the summary and the functions count every event)`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
