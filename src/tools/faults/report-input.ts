// `memtrace report` for faults logs: a raw log written by `memtrace faults --raw-out`, or the output
// of scripts/bpf/faults.bt run by hand (text or -f json), re-rendered into any report.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { FaultsLogParser, type FaultsRaw } from '../../parse/faults-log.js';
import { DEFAULT_PAGE_SIZE } from '../../probes/faults-spec.js';
import { MappingHistory } from '../../symbols/proc-maps.js';
import type { FaultsProfile } from '../../model/faults-profile.js';
import { faultsFrameAddresses, reduceFaults, type FaultsNames, type FrameName } from './reduce.js';
import { resolveFaultsNames } from './names.js';
import { savedLogPartialReason } from '../common/saved-log.js';

export async function readFaultsLog(path: string, options: { lenient: boolean }): Promise<FaultsProfile> {
  const parser = new FaultsLogParser({ source: path, lenient: options.lenient });
  // Line by line: a raw log of a long trace can be larger than a JavaScript string may be.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) parser.push(line);
  const { raw, truncated } = parser.finish();
  const header = raw.memtrace.header ?? {};
  const trailer = raw.memtrace.trailer ?? {};
  const target = (header.target ?? { pid: null, command: null }) as FaultsProfile['target'];
  const notes = Array.isArray(trailer.notes) ? [...(trailer.notes as string[])] : [];
  if (!raw.began && !raw.ended) notes.push(`${path} holds no output of memtrace's faults program`);
  if (raw.memtrace.symbols === null && raw.memtrace.maps.length === 0 && raw.stacks.size > 0) {
    notes.push('the log carries no memory maps (a hand run): frames are shown as addresses; memtrace faults --raw-out records them');
  }
  return reduceFaults(raw, {
    target: { pid: target.pid ?? null, command: target.command ?? null },
    tracer: (header.tracer as FaultsProfile['tracer']) ?? { name: 'bpftrace', version: null },
    startedAt: typeof header.startedAt === 'string' ? header.startedAt : null,
    durationSeconds: typeof trailer.durationSeconds === 'number' ? trailer.durationSeconds : null,
    ...(typeof header.stackDepth === 'number' ? { stackDepth: header.stackDepth } : {}),
    partialReason: savedLogPartialReason(path, {
      trailer,
      truncated,
      memtrace: raw.memtrace,
      ended: raw.ended,
      tracerWords: 'the tracer',
      complete: raw.complete,
    }),
    pageSize: typeof header.pageSize === 'number' ? header.pageSize : DEFAULT_PAGE_SIZE,
    names: await namesFor(raw),
    notes,
  });
}

/** Names recorded in the log win; otherwise the recorded maps are resolved against the files on this machine. */
async function namesFor(raw: FaultsRaw): Promise<FaultsNames> {
  const symbols = raw.memtrace.symbols as unknown as { leaves?: Record<string, FrameName>; callers?: Record<string, FrameName> } | null;
  if (symbols !== null) {
    const read = (record: Record<string, FrameName> | undefined) =>
      new Map(Object.entries(record ?? {}).map(([hex, name]) => [BigInt(`0x${hex}`), name]));
    return { leaves: read(symbols.leaves), callers: read(symbols.callers) };
  }
  const recorded = raw.memtrace.maps.at(-1);
  if (recorded === undefined) return { leaves: new Map(), callers: new Map() };
  return resolveFaultsNames(MappingHistory.fromJSON(recorded as Parameters<typeof MappingHistory.fromJSON>[0]), faultsFrameAddresses(raw));
}
