// `memtrace report` for the output of memtrace's D malloc program: a raw log written by
// `memtrace-dtrace malloc --raw-out`, or scripts/dtrace/malloc.d run by hand, into the malloc report.
// On macOS DTrace names the frames itself (module`function). A log of DTrace for Linux carries the
// target's maps and the names memtrace gave the frames (memtrace_maps, memtrace_symbols), read here
// as the bpftrace path reads its own: `module:0xoff` frames are placed with the recorded maps.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { describeDtraceNotices } from '../../parse/dtrace-notices.js';
import { MallocDtraceParser, type PlaceDtraceFrame } from '../../parse/malloc-dtrace.js';
import { MappingHistory } from '../../symbols/proc-maps.js';
import type { MallocProfile } from '../../model/malloc-profile.js';
import { namesFor, reduceRecordedMalloc } from './report-input.js';

export async function readMallocDtraceLog(path: string, options: { lenient: boolean }): Promise<MallocProfile> {
  const parser = new MallocDtraceParser({ source: path, lenient: options.lenient });
  // Line by line: a long trace's log can be larger than a JavaScript string may be.
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) parser.push(line);
  const maps = parser.recordedMaps;
  const history = maps === undefined ? null : MappingHistory.fromJSON(maps as Parameters<typeof MappingHistory.fromJSON>[0]);
  const { raw, truncated } = parser.finish(history === null ? undefined : framePlacer(history));
  return reduceRecordedMalloc(raw, {
    path,
    truncated,
    names: await namesFor(raw),
    tracer: 'dtrace',
    program: "memtrace's D malloc program",
    tracerWords: 'dtrace',
    notes: describeMallocDtraceNotes(parser),
  });
}

/**
 * Where a `module:0xoff` frame (DTrace for Linux's noresolve: the offset in the executable mapping of
 * `module` that holds the address, libdtrace's dt_Paddr_to_map) lies in the target: the start of
 * that mapping plus the offset. null when the maps do not have the module.
 */
export function placeFrame(history: MappingHistory | null, module: string, offset: bigint): bigint | null {
  if (history === null) return null;
  const mapping = history
    .all()
    .find((candidate) => candidate.perms[2] === 'x' && basename(candidate.path) === module && offset < candidate.end - candidate.start);
  return mapping === undefined ? null : mapping.start + offset;
}

/** placeFrame over one history, as MallocDtraceParser.finish takes it. */
export function framePlacer(history: MappingHistory): PlaceDtraceFrame {
  return (module, offset) => placeFrame(history, module, offset);
}

/** What dtrace said it lost, and frees that could not be matched to a birth record. */
export function describeMallocDtraceNotes(parser: MallocDtraceParser): string[] {
  const notes = describeDtraceNotices(parser.notices);
  if (parser.unmatchedFrees > 0) notes.push(`${parser.unmatchedFrees} frees of blocks whose birth record was dropped`);
  // Never dropped silently: memtrace's own runs keep a launched command's output out of the records
  // (dtrace -o), so there such a line is something else.
  const foreign = parser.lines.foreign;
  if (foreign > 0)
    notes.push(
      `${foreign} ${foreign === 1 ? 'line' : 'lines'} of other output skipped, not records of the program (a launched command's own output, in a log of dtrace -c run by hand)`,
    );
  return notes;
}
