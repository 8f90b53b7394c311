// The GcLog model: every V8 garbage collection of one process, in time order, with its kind, its
// reason, its pause and the process's RSS either side, and a summary by kind. `memtrace gc` builds
// it from the tracer's records; every gc report (table, json, tsv, svg) renders it, and
// gcLogToSeries turns it into a Series so that the process tool's plots can draw or overlay it.
import type { Series, SeriesMark, SeriesSample } from './series.js';

/**
 * V8's collectors, as `v8::internal::GarbageCollector` numbers them in V8 11.3 (Node 20,
 * src/common/globals.h: SCAVENGER, MARK_COMPACTOR, MINOR_MARK_COMPACTOR; the third was renamed
 * MINOR_MARK_SWEEPER in later versions, with the same number). `incremental-marking` and
 * `weak-callbacks` come only from Node's USDT probes (v8::GCType bits, Node ≤ 18).
 */
export const GC_KINDS = ['scavenge', 'mark-compact', 'minor-mark-compact', 'incremental-marking', 'weak-callbacks', 'unknown'] as const;
export type GcKind = (typeof GC_KINDS)[number];

/** The collector argument of Heap::PerformGarbageCollection, as a kind. */
export function kindOfCollector(collector: number): GcKind {
  return collector === 0 ? 'scavenge' : collector === 1 ? 'mark-compact' : collector === 2 ? 'minor-mark-compact' : 'unknown';
}

/**
 * The kind a v8::GCType bit set names (include/v8-callbacks.h: kGCTypeScavenge 1,
 * kGCTypeMinorMarkCompact 2, kGCTypeMarkSweepCompact 4, kGCTypeIncrementalMarking 8,
 * kGCTypeProcessWeakCallbacks 16): Node's gc__start/gc__done USDT probes pass it as their first argument.
 */
export function kindOfGcType(type: number): GcKind {
  if (type & 4) return 'mark-compact';
  if (type & 1) return 'scavenge';
  if (type & 2) return 'minor-mark-compact';
  if (type & 8) return 'incremental-marking';
  if (type & 16) return 'weak-callbacks';
  return 'unknown';
}

/**
 * V8's GarbageCollectionReason, by number, in the words V8's own --trace-gc prints. The enum's
 * comment in V8 (src/common/globals.h; src/heap/heap.h before 9.x) says its values are persisted to
 * logs and never renumbered, so one table serves V8 8.x to 12.x; numbers past its end are shown as
 * `reason N`.
 */
export const GC_REASONS: readonly string[] = [
  'unknown', // 0 kUnknown
  'allocation failure', // 1 kAllocationFailure
  'allocation limit', // 2 kAllocationLimit
  'context disposal', // 3 kContextDisposal
  'counters extension', // 4 kCountersExtension
  'debugger', // 5 kDebugger
  'deserialize', // 6 kDeserializer
  'external memory pressure', // 7 kExternalMemoryPressure
  'finalize incremental marking via stack guard', // 8 kFinalizeMarkingViaStackGuard
  'finalize incremental marking via task', // 9 kFinalizeMarkingViaTask
  'full hash-table', // 10 kFullHashtable
  'heap profiler', // 11 kHeapProfiler
  'task', // 12 kTask (kIdleTask before V8 9.x)
  'last resort', // 13 kLastResort
  'low memory notification', // 14 kLowMemoryNotification
  'make heap iterable', // 15 kMakeHeapIterable
  'memory pressure', // 16 kMemoryPressure
  'memory reducer', // 17 kMemoryReducer
  'runtime', // 18 kRuntime
  'sampling profiler', // 19 kSamplingProfiler
  'snapshot creator', // 20 kSnapshotCreator
  'testing', // 21 kTesting (gc() of --expose-gc)
  'external finalize', // 22 kExternalFinalize
  'global allocation limit', // 23 kGlobalAllocationLimit
  'measure memory', // 24 kMeasureMemory
  'background allocation failure', // 25 kBackgroundAllocationFailure
  'finalize concurrent MinorMS', // 26 kFinalizeConcurrentMinorMS
  'CppHeap allocation failure', // 27 kCppHeapAllocationFailure
];

/** The kind of a record's collector number, read as the probe that wrote it passes it. */
export function gcKindOf(probe: 'symbol' | 'usdt', collector: number): GcKind {
  return probe === 'usdt' ? kindOfGcType(collector) : kindOfCollector(collector);
}

/** A reason number in words; null (the USDT probes carry no reason) stays null. */
export function reasonName(reason: number | null): string | null {
  if (reason === null) return null;
  return GC_REASONS[reason] ?? `reason ${reason}`;
}

export interface GcCollection {
  kind: GcKind;
  /** V8's reason in words, null when the probe does not carry it (USDT). */
  reason: string | null;
  /** From the entry of the collection to its return, on the thread that ran it. */
  pauseMs: number;
  /** The process's RSS (file + anon + shmem pages) right after the collection. */
  rssAfterBytes: number;
  rssBeforeBytes: number;
  /** Seconds since the trace began. */
  startSeconds: number;
  /** The thread that collected: a worker thread's isolate collects on its own thread. */
  tid: number;
}

export interface GcKindSummary {
  kind: GcKind;
  count: number;
  totalPauseMs: number;
  p50PauseMs: number;
  p99PauseMs: number;
  maxPauseMs: number;
}

export interface GcLogHeader {
  tool: 'gc';
  target: { pid: number | null; command: string[] | null };
  /** The node binary probed, and how: V8's symbol (uprobes) or Node's USDT probes. */
  binary: string | null;
  probe: { kind: 'symbol'; symbol: string; demangled: string } | { kind: 'usdt' } | null;
  host: string | null;
  /** ISO 8601 wall clock of startSeconds = 0. */
  startedAt: string | null;
  tracer: { name: 'bpftrace'; version: string | null; choices?: string[] };
}

export interface GcLog {
  header: GcLogHeader;
  collections: GcCollection[];
  summary: GcKindSummary[];
  durationSeconds: number | null;
  /** Why the trace is incomplete (interrupted, the tracer died, the log was cut), or null. */
  partialReason: string | null;
  /** Events the tracer dropped (its `Lost N events`): collections that are missing. */
  lostEvents: number;
  /** Lines that could not be read, counted under --lenient. */
  badLines: number;
  /** Known noise seen in the log and counted (tracer banners and such). */
  noiseLines: number;
  notes: string[];
}

/** Count, total and p50/p99/max pause of each kind present, in GC_KINDS order. */
export function summarizeGcCollections(collections: readonly GcCollection[]): GcKindSummary[] {
  const summaries: GcKindSummary[] = [];
  for (const kind of GC_KINDS) {
    const pauses = collections
      .filter((collection) => collection.kind === kind)
      .map((collection) => collection.pauseMs)
      .sort((a, b) => a - b);
    if (pauses.length === 0) continue;
    summaries.push({
      kind,
      count: pauses.length,
      totalPauseMs: roundMs(pauses.reduce((sum, pause) => sum + pause, 0)),
      p50PauseMs: percentile(pauses, 0.5),
      p99PauseMs: percentile(pauses, 0.99),
      maxPauseMs: pauses.at(-1)!,
    });
  }
  return summaries;
}

/** Nearest-rank percentile of sorted values: the smallest value with at least `fraction` of them at or below it. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!;
}

/** Milliseconds to the nanosecond the probe measures: sums of many pauses stay exact. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1e6) / 1e6;
}

/**
 * The collections as a process Series: one sample per collection (its RSS after, at its end), and a
 * mark per mark-compact (scavenges are too many to label). The process tool's svg, html, table and
 * gnuplot reports draw it as they draw any process log; to overlay collections on a process log
 * recorded at the same time, add `gcMarks(log)` to that series' marks (both clocks are wall clocks).
 */
export function gcLogToSeries(log: GcLog): Series {
  const start = log.header.startedAt ?? new Date(0).toISOString();
  const startMs = Date.parse(start);
  const samples: SeriesSample[] = log.collections.map((collection) => {
    const elapsed = collection.startSeconds + collection.pauseMs / 1000;
    return { t: new Date(startMs + elapsed * 1000).toISOString(), elapsed, pid: log.header.target.pid ?? 0, rss: collection.rssAfterBytes };
  });
  return {
    header: {
      tool: 'process',
      version: 1,
      source: 'memtrace',
      target: { pid: log.header.target.pid ?? 0, ...(log.header.target.command === null ? {} : { command: log.header.target.command }) },
      interval: 0,
      host: log.header.host ?? '',
      platform: 'linux',
      start,
    },
    samples,
    marks: gcMarks(log, startMs),
    stop: null,
    badLines: log.badLines,
  };
}

/** A mark per mark-compact collection, at its start, timed against `seriesStartMs` (a wall clock in ms). */
export function gcMarks(log: GcLog, seriesStartMs: number): SeriesMark[] {
  const gcStartMs = Date.parse(log.header.startedAt ?? new Date(0).toISOString());
  return log.collections
    .filter((collection) => collection.kind === 'mark-compact')
    .map((collection) => {
      const atMs = gcStartMs + collection.startSeconds * 1000;
      return {
        t: new Date(atMs).toISOString(),
        elapsed: (atMs - seriesStartMs) / 1000,
        text: `mark-compact ${collection.pauseMs.toFixed(1)} ms${collection.reason === null ? '' : ` (${collection.reason})`}`,
        source: 'log' as const,
      };
    });
}
