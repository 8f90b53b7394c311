// `memtrace report` for the output of memtrace's D malloc program: a raw log written by
// `memtrace-dtrace malloc --raw-out`, or scripts/dtrace/malloc.d run by hand, into the malloc report.
// DTrace names the frames itself (module`function), so no symbols are needed here.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { describeDtraceNotices } from '../parse/dtrace-notices.js';
import { MallocDtraceParser } from '../parse/malloc-dtrace.js';
import type { MallocProfile } from '../model/malloc-profile.js';
import { reduceMalloc } from './malloc-reduce.js';

export async function readMallocDtraceLog(path: string, options: { lenient: boolean }): Promise<MallocProfile> {
  const parser = new MallocDtraceParser({ source: path, lenient: options.lenient });
  // Line by line: a long trace's log can be larger than a JavaScript string may be.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) parser.push(line);
  const { raw, truncated } = parser.finish();
  const header = raw.memtrace.header ?? {};
  const trailer = raw.memtrace.trailer ?? {};
  const target = (header.target ?? { pid: null, command: null }) as MallocProfile['target'];
  const notes = Array.isArray(trailer.notes) ? (trailer.notes as string[]) : describeMallocDtraceNotes(parser);
  if (!raw.began && !raw.ended && raw.calls.size === 0) notes.push(`${path} holds no output of memtrace's D malloc program`);
  return reduceMalloc(raw, {
    target: { pid: target.pid ?? null, command: target.command ?? null },
    tracer: (header.tracer as MallocProfile['tracer']) ?? { name: 'dtrace', version: null },
    allocator: {
      library: ((header.allocator as { library?: string } | undefined)?.library) ?? null,
      functions: ((header.allocator as { functions?: string[] } | undefined)?.functions) ?? [...raw.calls.keys()],
    },
    startedAt: typeof header.startedAt === 'string' ? header.startedAt : null,
    durationSeconds: typeof trailer.durationSeconds === 'number' ? trailer.durationSeconds : null,
    partialReason:
      typeof trailer.partialReason === 'string'
        ? trailer.partialReason
        : truncated
          ? `${path} ends in the middle of a record`
          : raw.ended
            ? null
            : `${path} ends before dtrace printed its results`,
    sampleEvery: typeof header.sampleEvery === 'number' ? header.sampleEvery : 1,
    names: new Map(),
    notes,
  });
}

/** What dtrace said it lost, and frees that could not be matched to a birth record. */
export function describeMallocDtraceNotes(parser: MallocDtraceParser): string[] {
  const notes = describeDtraceNotices(parser.notices);
  if (parser.unmatchedFrees > 0) notes.push(`${parser.unmatchedFrees} frees of blocks whose birth record was dropped`);
  return notes;
}
