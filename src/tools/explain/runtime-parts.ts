// Runtimes' parts carved out of the parts their memory was classified into: V8's heap lives in
// anonymous mappings memtrace cannot tell from others, and V8's external memory (ArrayBuffer backing
// stores) in malloc's live blocks. The runtime's own figure says how much; the bytes move from the
// source part, never more than it holds, so the parts still add up to the RSS.
import type { RssPart, RssPartKind } from '../../model/rss-explanation.js';
import type { HeapValues } from '../../sample/sampler.js';
import { formatBytes } from '../../report/units.js';

type UnsharedPart = Omit<RssPart, 'share' | 'accuracy' | 'how'>;

/**
 * Moves up to `bytes` into a new part `kind`, from the first source part that has any (then the
 * next). Returns the bytes moved; a source smaller than the runtime's figure caps it, as a figure
 * read a moment apart from smaps can be.
 */
export function carvePart(parts: UnsharedPart[], kind: RssPartKind, sources: RssPartKind[], bytes: number, memberName: string): number {
  let wanted = bytes;
  let moved = 0;
  for (const sourceKind of sources) {
    const source = parts.find((part) => part.kind === sourceKind);
    if (source === undefined || wanted <= 0) continue;
    const taken = Math.min(wanted, source.bytes);
    source.bytes -= taken;
    if (taken > 0) (source.carvedOut ??= []).push({ into: kind, bytes: taken });
    wanted -= taken;
    moved += taken;
  }
  if (moved > 0) parts.push({ kind, bytes: moved, count: 1, members: [{ name: memberName, bytes: moved }] });
  return moved;
}

/**
 * V8's heap out of the other anonymous memory; its external memory out of malloc's live blocks.
 * Returns a note for each figure larger than what its sources held: the part is then capped.
 */
export function carveNodeParts(parts: UnsharedPart[], heap: HeapValues): string[] {
  const notes: string[] = [];
  const heapMoved = carvePart(parts, 'v8-heap', ['anon-other'], heap.heapTotal, `heapTotal (heapUsed ${formatBytes(heap.heapUsed)})`);
  if (heapMoved < heap.heapTotal)
    notes.push(
      `V8 reports a heapTotal of ${formatBytes(heap.heapTotal)}, and only ${formatBytes(heapMoved)} of other anonymous memory is resident to hold it: V8's heap is capped there (committed pages it has not touched, or given back, are not resident)`,
    );
  if (heap.external !== undefined) {
    // Big backing stores are blocks glibc mmapped on their own: live too; without a walk, in [heap] or anonymous memory.
    const external = heap.external;
    const moved = carvePart(
      parts,
      'v8-external',
      ['malloc-live', 'anon-other', 'malloc-unsplit'],
      external,
      'external (arrayBuffers included)',
    );
    if (moved < external)
      notes.push(
        `V8 reports ${formatBytes(external)} of external memory, more than the ${formatBytes(moved)} it could come from: capped there`,
      );
  }
  return notes;
}
