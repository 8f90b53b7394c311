// `memtrace report` for malloc logs: a raw log written by `memtrace malloc --raw-out`, or the output
// of scripts/bpf/malloc.bt run by hand (text or -f json), re-rendered into any report.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { MallocLogParser, type MallocRaw } from '../../parse/malloc-log.js';
import { MappingHistory } from '../../symbols/proc-maps.js';
import type { MallocProfile } from '../../model/malloc-profile.js';
import { frameAddresses, reduceMalloc } from '../common/allocation-reduce.js';
import { completeRecordedNames, type ResolvedName } from '../common/frame-names.js';
import { savedLogPartialReason } from '../common/saved-log.js';

export async function readMallocLog(path: string, options: { lenient: boolean }): Promise<MallocProfile> {
  const parser = new MallocLogParser({ source: path, lenient: options.lenient });
  // Line by line: a raw log of a long trace can be larger than a JavaScript string may be.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) parser.push(line);
  const { raw, truncated } = parser.finish();
  return reduceRecordedMalloc(raw, {
    path,
    truncated,
    names: await namesFor(raw),
    tracer: 'bpftrace',
    program: "memtrace's malloc program",
    tracerWords: 'the tracer',
    notes: [],
  });
}

/**
 * A recorded malloc log (bpftrace's or dtrace's) reduced into the profile: what memtrace's own
 * header and trailer records say wins; without them (a script run by hand), the tracer's name, the
 * functions seen and a partial reason told from how the log ends stand in.
 */
export function reduceRecordedMalloc(
  raw: MallocRaw,
  options: {
    path: string;
    truncated: boolean;
    names: Map<bigint, ResolvedName>;
    tracer: string;
    program: string;
    tracerWords: string;
    notes: string[];
  },
): MallocProfile {
  const { path } = options;
  const header = raw.memtrace.header ?? {};
  const trailer = raw.memtrace.trailer ?? {};
  const target = (header.target ?? { pid: null, command: null }) as MallocProfile['target'];
  const notes = Array.isArray(trailer.notes) ? (trailer.notes as string[]) : options.notes;
  if (!raw.began && !raw.ended && raw.calls.size === 0) notes.push(`${path} holds no output of ${options.program}`);
  return reduceMalloc(raw, {
    tool: (header.tool ?? raw.program) === 'external' ? 'external' : 'malloc',
    target: { pid: target.pid ?? null, command: target.command ?? null },
    tracer: (header.tracer as MallocProfile['tracer']) ?? { name: options.tracer, version: null },
    allocator: {
      library: (header.allocator as { library?: string } | undefined)?.library ?? null,
      functions: (header.allocator as { functions?: string[] } | undefined)?.functions ?? [...raw.calls.keys()],
    },
    startedAt: typeof header.startedAt === 'string' ? header.startedAt : null,
    durationSeconds: typeof trailer.durationSeconds === 'number' ? trailer.durationSeconds : null,
    timelineStartedAt: typeof trailer.timelineStartedAt === 'string' ? trailer.timelineStartedAt : null,
    ...(typeof header.stackDepth === 'number' ? { stackDepth: header.stackDepth } : {}),
    partialReason: savedLogPartialReason(path, {
      trailer,
      truncated: options.truncated,
      memtrace: raw.memtrace,
      ended: raw.ended,
      tracerWords: options.tracerWords,
    }),
    sampleEvery: typeof header.sampleEvery === 'number' ? header.sampleEvery : 1,
    names: options.names,
    notes,
  });
}

/** Names recorded in the log win; otherwise the recorded maps are resolved against the files on this machine. */
export async function namesFor(raw: MallocRaw): Promise<Map<bigint, ResolvedName>> {
  const recorded = new Map<bigint, ResolvedName>(
    Object.entries(raw.memtrace.symbols ?? {}).map(([hex, name]) => [BigInt(`0x${hex}`), name]),
  );
  const maps = raw.memtrace.maps.at(-1);
  const history = maps === undefined ? null : MappingHistory.fromJSON(maps as Parameters<typeof MappingHistory.fromJSON>[0]);
  // The perf map of the traced process is gone (or another process's now): JIT frames not recorded stay hex.
  return completeRecordedNames(recorded, history, frameAddresses(raw), { returnAddresses: true });
}
