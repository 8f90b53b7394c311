// Turns the parsed gc trace (parse/gc-log.ts) into the GcLog model: numbers become kinds and
// reasons, nanoseconds become milliseconds and seconds since the trace began, and the summary by
// kind is computed. The raw log's own header and trailer, when present, fill what the live
// session would have known.
import { gcKindOf, reasonName, roundMs, summarizeGcCollections, type GcLog, type GcLogHeader } from '../../model/gc-log.js';
import type { GcRaw } from '../../parse/gc-log.js';

export interface GcReduceContext {
  header: GcLogHeader;
  /** How the trace ended, when known from the live session; null for a complete one. */
  partialReason: string | null;
  notes: string[];
}

export function reduceGc(raw: GcRaw, context: GcReduceContext): GcLog {
  const header = mergeHeader(context.header, raw.header);
  const probeKind = header.probe?.kind ?? 'symbol';
  const begin = raw.beginNs ?? 0;
  const collections = raw.collections.map((collection) => ({
    kind: gcKindOf(probeKind, collection.collector),
    reason: reasonName(collection.reason),
    pauseMs: roundMs(collection.pauseNs / 1e6),
    rssAfterBytes: collection.rssAfterBytes,
    rssBeforeBytes: collection.rssBeforeBytes,
    startSeconds: Math.round((collection.startNs - begin) / 1e3) / 1e6,
    tid: collection.tid,
  }));
  const trailer = raw.trailer ?? {};
  const savedPartial = typeof trailer.partialReason === 'string' ? trailer.partialReason : null;
  const cut = raw.truncated
    ? 'the trace ends in the middle of a record (the log was cut)'
    : raw.endNs === null
      ? 'the trace ends before memtrace:end (bpftrace was killed, or the log was cut)'
      : null;
  const notes = [
    ...context.notes,
    ...(Array.isArray(trailer.notes) ? trailer.notes.filter((note): note is string => typeof note === 'string') : []),
  ];
  if (raw.lines.foreign > 0)
    notes.push(`${raw.lines.foreign} lines of other output (the target's own, in a hand-run log) were not gc records`);
  return {
    header,
    collections,
    summary: summarizeGcCollections(collections),
    durationSeconds:
      raw.endNs === null
        ? typeof trailer.durationSeconds === 'number'
          ? trailer.durationSeconds
          : null
        : Math.round((raw.endNs - begin) / 1e6) / 1e3,
    partialReason: context.partialReason ?? savedPartial ?? cut,
    lostEvents: raw.lostEvents,
    badLines: raw.lines.malformed,
    noiseLines: raw.noiseLines,
    notes: [...new Set(notes)],
  };
}

/** The live header, completed by a raw log's saved one (whose fields win: they were known then). */
function mergeHeader(live: GcLogHeader, saved: Record<string, unknown> | null): GcLogHeader {
  if (saved === null) return live;
  const pick = <K extends keyof GcLogHeader>(key: K): GcLogHeader[K] =>
    saved[key] === undefined ? live[key] : (saved[key] as GcLogHeader[K]);
  return {
    tool: 'gc',
    target: pick('target'),
    binary: pick('binary'),
    probe: pick('probe'),
    host: pick('host'),
    startedAt: pick('startedAt'),
    tracer: pick('tracer'),
  };
}
