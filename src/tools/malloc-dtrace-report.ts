// `memtrace report` for the output of memtrace's D malloc program: a raw log written by
// `memtrace-dtrace malloc --raw-out`, or scripts/dtrace/malloc.d run by hand, into the malloc report.
// DTrace names the frames itself (module`function), so no symbols are needed here.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { describeDtraceNotices } from '../parse/dtrace-notices.js';
import { MallocDtraceParser } from '../parse/malloc-dtrace.js';
import type { MallocProfile } from '../model/malloc-profile.js';
import { reduceRecordedMalloc } from './malloc-report.js';

export async function readMallocDtraceLog(path: string, options: { lenient: boolean }): Promise<MallocProfile> {
  const parser = new MallocDtraceParser({ source: path, lenient: options.lenient });
  // Line by line: a long trace's log can be larger than a JavaScript string may be.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) parser.push(line);
  const { raw, truncated } = parser.finish();
  return reduceRecordedMalloc(raw, { path, truncated, names: new Map(), tracer: 'dtrace', program: "memtrace's D malloc program", tracerWords: 'dtrace', notes: describeMallocDtraceNotes(parser) });
}

/** What dtrace said it lost, and frees that could not be matched to a birth record. */
export function describeMallocDtraceNotes(parser: MallocDtraceParser): string[] {
  const notes = describeDtraceNotices(parser.notices);
  if (parser.unmatchedFrees > 0) notes.push(`${parser.unmatchedFrees} frees of blocks whose birth record was dropped`);
  return notes;
}
