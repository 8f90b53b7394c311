// `memtrace report` for gc logs: memtrace gc's json report, a raw log written by `memtrace gc
// --raw-out`, or the output of scripts/bpf/gc.bt run by hand (text or -f json), re-rendered.
import { GC_KINDS, summarizeGcCollections, type GcKind, type GcLog } from '../../model/gc-log.js';
import { readGcJson } from '../../parse/gc-json.js';
import { parseGcLogFile } from '../../parse/gc-log.js';
import { reduceGc } from './reduce.js';

/** A gc log from a raw or hand-run trace; lines are streamed, never read as one string. */
export async function readGcLog(path: string, options: { lenient: boolean }): Promise<GcLog> {
  const raw = await parseGcLogFile(path, { lenient: options.lenient });
  return reduceGc(raw, {
    // A hand-run script probes V8's symbol; a raw log's own header says what memtrace probed.
    header: {
      tool: 'gc',
      target: { pid: null, command: null },
      binary: null,
      probe: null,
      host: null,
      startedAt: null,
      tracer: { name: 'bpftrace', version: null },
    },
    partialReason: null,
    notes: [],
  });
}

/** A gc json report, read back; the summary is recomputed from the collections (they are the data). */
export async function readGcReport(path: string): Promise<GcLog> {
  const report = (await readGcJson(path)) as unknown as GcLog;
  const collections = report.collections.map((collection) => ({
    ...collection,
    kind: GC_KINDS.includes(collection.kind) ? collection.kind : ('unknown' as GcKind),
  }));
  return {
    ...report,
    collections,
    summary: summarizeGcCollections(collections),
    notes: Array.isArray(report.notes) ? report.notes : [],
    lostEvents: report.lostEvents ?? 0,
    badLines: report.badLines ?? 0,
    noiseLines: report.noiseLines ?? 0,
    partialReason: report.partialReason ?? null,
    durationSeconds: report.durationSeconds ?? null,
  };
}
