// The allocator's state of a running process, read from outside without stopping it: glibc's arenas,
// walked chunk by chunk through /proc/PID/mem (sample/glibc-heap.ts) at the addresses libc6-dbg's
// symbols give (symbols/glibc-malloc.ts). Turned into the classifier's claims (each heap's live
// resident bytes, the rest of it retained; each mmapped block live) and the report's arena table.
import type { AllocatorState, ArenaState } from '../../model/rss-explanation.js';
import { walkGlibcHeap, type ArenaWalk } from '../../sample/glibc-heap.js';
import { unreadableNote } from '../../sample/process-memory.js';
import { locateGlibcMalloc } from '../../symbols/glibc-malloc.js';
import type { SmapsMapping } from '../../symbols/proc-smaps.js';
import type { MallocLayout, ResidentClaim } from './classify.js';

export interface AllocatorReading {
  layout: MallocLayout | null;
  state: AllocatorState | null;
  /** Why the allocator could not be read; null when it was. */
  note: string | null;
}

export const MMAPPED_BLOCKS = 'blocks mmapped on their own';

export async function readAllocatorState(pid: number, mappings: SmapsMapping[]): Promise<AllocatorReading> {
  const located = await locateGlibcMalloc(pid, { maps: mappings });
  if (!located.ok) return { layout: null, state: null, note: located.message };
  let walk;
  try {
    walk = await walkGlibcHeap(pid, { mainArena: located.mainArena, mp: located.mp, maps: mappings });
  } catch (error) {
    return { layout: null, state: null, note: unreadableNote(error) };
  }
  const claims: ResidentClaim[] = [];
  for (const arena of walk.arenas) {
    const name = arenaName(arena);
    for (const heap of arena.heaps)
      claims.push({
        start: heap.start,
        end: heap.end,
        kind: 'malloc-live',
        name,
        residentBytes: heap.inUseResidentBytes,
        rest: { kind: 'malloc-retained', name },
      });
  }
  for (const range of walk.mmapped.ranges)
    claims.push({ start: range.start, end: range.end, kind: 'malloc-live', name: MMAPPED_BLOCKS, residentBytes: range.residentBytes });
  const arenas = walk.arenas.map((arena): ArenaState => ({
    address: arena.address.toString(16),
    main: arena.main,
    systemBytes: arena.systemBytes,
    residentBytes: arena.heaps.reduce((sum, heap) => sum + heap.residentBytes, 0),
    liveBytes: arena.inUse.bytes,
    liveResidentBytes: arena.inUse.residentBytes,
    freeBytes: arena.free.bytes + arena.top.bytes + arena.fastbin.bytes + arena.tcache.bytes,
    freeResidentBytes: arena.free.residentBytes + arena.top.residentBytes + arena.fastbin.residentBytes + arena.tcache.residentBytes,
    topBytes: arena.top.bytes,
    topResidentBytes: arena.top.residentBytes,
  }));
  const problems = [walk.problem, ...walk.arenas.map((arena) => arena.problem)].filter((problem): problem is string => problem !== null);
  return {
    layout: { claims },
    state: {
      name: 'glibc',
      version: located.version ?? 'unknown version',
      arenas,
      mmapped: { count: walk.mmapped.chunks, bytes: walk.mmapped.bytes, residentBytes: walk.mmapped.residentBytes },
      partial: walk.complete ? null : `after ${walk.attempts} attempts: ${problems.join('; ') || 'the heap kept changing'}`,
      notes: [...located.notes, ...walk.notes],
      elapsedMs: walk.elapsedMs,
    },
    note: null,
  };
}

function arenaName(arena: ArenaWalk): string {
  return arena.main ? 'main arena' : `arena at 0x${arena.address.toString(16)}`;
}
