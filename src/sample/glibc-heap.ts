// Walks glibc malloc's heaps in a running process from outside, without stopping it: every arena,
// every chunk, read through /proc/PID/mem, and which of their bytes are in RAM, from
// /proc/PID/pagemap. The addresses of main_arena and mp_ come from the caller
// (symbols/glibc-malloc.ts finds them in libc's debug file).
//
// Reference: glibc 2.36 malloc/malloc.c and malloc/arena.c. The layout below is x86-64 glibc
// ≥ 2.26 (with tcache), checked by the caller through main_arena's size (2200 bytes), and offset by
// offset against the 2.36 debug file (`gdb -batch -ex 'ptype /o struct malloc_state' libc.so.6`):
//
//   struct malloc_state (2200)   fastbinsY[10] @16, top @96, next @2160, system_mem @2184, flags @4
//   struct malloc_par mp_ (136, glibc ≥ 2.35)   n_mmaps @60, mmapped_mem @80, sbrk_base @96, tcache_count @120
//   struct _heap_info (48)       ar_ptr @0, prev @8, size @16, mprotect_size @24
//   struct tcache_perthread_struct (640, a chunk of 0x290)   uint16 counts[64] @0, entries[64] @128
//   a chunk                      prev_size @0, size @8 (low bits: PREV_INUSE 1, IS_MMAPPED 2, NON_MAIN_ARENA 4), fd @16
//
// How bytes are counted: a chunk owns [chunk, chunk + size), its 16-byte header included (the
// prev_size word of the next chunk, which an in-use chunk may use for data, belongs to the next
// chunk). So the categories of a heap (in use, free in bins, top, fastbins, tcache, overhead: the
// heap_info and arena structs before the first chunk, alignment and fenceposts) add up to the heap's
// bytes exactly, and their resident bytes to the heap's resident bytes.
//
// The process runs while it is read: a chunk whose size is impossible, a list that leaves the
// heaps, or an arena whose top moved meanwhile makes the walk start again, up to maxAttempts times;
// then the last attempt is returned with `complete: false` and the reason. Only a process that
// cannot be read at all (gone, or not ours) throws a ProcessMemoryError.
//
// Reading has one side effect: a header on a swapped-out page is read, which brings that page
// back in. Pages that are neither present nor swapped are never read (that would map the zero page).
import type { FileHandle } from 'node:fs/promises';
import { pageSize } from './linux-proc.js';
import { readPageResidency, type PageResidency } from './pagemap.js';
import { isAlive, openProcessMemory, processMemoryError, ProcessMemoryError, type MemoryRange } from './process-memory.js';

export interface GlibcHeapTarget {
  /** Runtime address of main_arena. */
  mainArena: bigint;
  /** Runtime address of mp_ when it has glibc 2.35+'s 136-byte layout; its sbrk_base, mmapped counters and tcache_count are read. */
  mp?: bigint | null;
  /** Where the brk heap starts when mp_ is not given; the `[heap]` mapping's start by default. */
  heapStart?: bigint;
  /** The process's mappings (/proc/PID/maps): the brk heap, and the anonymous ones that may be mmapped chunks. */
  maps: readonly MemoryRange[];
}

export interface WalkGlibcHeapOptions {
  /** Walks tried before a racing process's result is returned partial. Default 5. */
  maxAttempts?: number;
  /** Bytes of /proc/PID/mem read at once. Default 1 MiB. */
  windowBytes?: number;
}

export interface ChunkTotals {
  chunks: number;
  bytes: number;
  /** Of `bytes`, those on pages in RAM. */
  residentBytes: number;
}

export interface HeapRange {
  start: bigint;
  end: bigint;
  /** Bytes of [start, end) in RAM. */
  residentBytes: number;
  /** Of them, those of chunks in use (the arena's inUse, heap by heap). */
  inUseResidentBytes: number;
}

export interface ArenaWalk {
  address: bigint;
  main: boolean;
  /** The arena's heaps: the brk heap for the main arena; for the others, the newest heap first, then older ones (heap_info.prev). */
  heaps: HeapRange[];
  /** glibc's own count of the memory the arena holds (system_mem). */
  systemBytes: number;
  /** Chunks in use, less those found in a fastbin or a tcache (which keep their in-use bit). */
  inUse: ChunkTotals;
  /** Free chunks in the bins (in-use bit clear), top excluded. */
  free: ChunkTotals;
  /** The top chunk (one, or none for an arena that has no heap yet). */
  top: ChunkTotals;
  fastbin: ChunkTotals;
  tcache: ChunkTotals;
  /** Heap bytes that are no chunk: heap_info and the arena struct, alignment, fenceposts (`chunks` stays 0). */
  overhead: ChunkTotals;
  /** null when every heap was walked to its end; otherwise what stopped the walk. */
  problem: string | null;
}

export interface GlibcHeapWalk {
  /** True when every arena was walked whole and nothing moved while it was read. */
  complete: boolean;
  /** Why not, when not complete. */
  problem: string | null;
  /** Walks made (a racing process makes the walk start again). */
  attempts: number;
  arenas: ArenaWalk[];
  /** Chunks glibc mmapped on their own (at least mmap_threshold, 128 KiB by default), found in the anonymous mappings. */
  mmapped: ChunkTotals & {
    /** Each chunk's range: a mapping of its own (or several merged by the kernel). */
    ranges: Array<{ start: bigint; end: bigint; residentBytes: number }>;
    /** glibc's own counters (mp_.n_mmaps, mp_.mmapped_mem), when mp_ was given: a chunk it counts but the scan missed shows here. */
    glibc: { chunks: number; bytes: number } | null;
  };
  tcache: {
    /** 'walked': per-thread structs found by their shape and their lists followed; 'unknown': none found (tcache chunks then count as in use). */
    status: 'walked' | 'unknown';
    /** tcache_perthread_struct chunks recognised (one a thread that has called malloc; an all-zero 0x290-byte block looks like an empty one). */
    perThreadStructs: number;
    /** The most chunks a tcache bin holds (mp_.tcache_count; 7 unless tuned). */
    countLimit: number;
  };
  /** Facts a reader should know (limits hit, counters that disagree). */
  notes: string[];
  elapsedMs: number;
}

// ---- the layout ---------------------------------------------------------------------------------

const ARENA = { mutex: 0, flags: 4, fastbinsY: 16, top: 96, next: 2160, systemMem: 2184, size: 2200 } as const;
const MP = { nMmaps: 60, mmappedMem: 80, sbrkBase: 96, tcacheCount: 120, size: 136 } as const;
const HEAP_INFO = { arPtr: 0, prev: 8, size: 16, sizeof: 48 } as const;
const TCACHE = { chunkSize: 0x290, bins: 64, entries: 128, sizeof: 640 } as const;
const FASTBINS = 10;
const NONCONTIGUOUS_BIT = 2;
const PREV_INUSE = 1;
const IS_MMAPPED = 2;
const SIZE_BITS = 7;
const ALIGNMENT = 16;
const MINSIZE = 32;
const HEADER = 16;
/** HEAP_MAX_SIZE on 64-bit: a non-main heap is this big and this aligned. */
const HEAP_MAX = 64 * 1024 * 1024;
/** Past this many, the arena list or a heap chain is taken to be corrupt (glibc's default limit is 8 per core). */
const MAX_ARENAS = 4096;
const MAX_HEAPS_PER_ARENA = 4096;
/** tcache_perthread_struct candidates kept (one per thread is normal). */
const MAX_TCACHE_CANDIDATES = 65536;
const DEFAULT_TCACHE_COUNT = 7;

/** A 64-bit little-endian value as a number; values above 2^53 come out inexact, which only invalid ones are. */
function u64(buffer: Buffer, at: number): number {
  return buffer.readUInt32LE(at) + buffer.readUInt32LE(at + 4) * 0x1_0000_0000;
}

/** glibc's safe-linking (2.32+): a stored next pointer is (address of the field >> 12) XOR next. */
function revealPointer(fieldAddress: number, stored: number): number {
  return Number((BigInt(Math.floor(fieldAddress / 4096)) ^ BigInt(stored)) & 0xffff_ffff_ffffn);
}

const alignUp = (value: number, to: number) => Math.ceil(value / to) * to;
/** A chunk address whose user pointer (chunk + 16) is 16-aligned. */
const alignChunk = (address: number) => alignUp(address + HEADER, ALIGNMENT) - HEADER;
const heapFor = (address: number) => Math.floor(address / HEAP_MAX) * HEAP_MAX;
const hex = (value: number) => `0x${value.toString(16)}`;
const totals = (): ChunkTotals => ({ chunks: 0, bytes: 0, residentBytes: 0 });

/** A racing process: the walk starts again. */
class Race extends Error {}

// ---- reading the target -------------------------------------------------------------------------

/** /proc/PID/mem, read at positions; EIO (an address no longer mapped) comes back as null. */
class RemoteMemory {
  constructor(
    readonly pid: number,
    readonly handle: FileHandle,
  ) {}

  async read(address: number, length: number, into?: Buffer): Promise<Buffer | null> {
    const buffer = into ?? Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(buffer, done, length - done, address + done));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EIO' || code === 'EFAULT') return null;
        throw processMemoryError(this.pid, `/proc/${this.pid}/mem`, error);
      }
      if (bytesRead === 0) {
        // A process that exited reads nothing; one that lives, nothing at an unmapped address.
        if (!(await isAlive(this.pid))) throw new ProcessMemoryError(`process ${this.pid} exited while its heap was read`, 'exited');
        return null;
      }
      done += bytesRead;
    }
    return buffer;
  }

  async u64(address: number): Promise<number | null> {
    const bytes = await this.read(address, 8);
    return bytes === null ? null : u64(bytes, 0);
  }
}

/**
 * Chunk headers read through a window of /proc/PID/mem: a header outside the window loads the
 * next window from it, as far as the pages stay present (never a page that is not in RAM).
 */
class HeaderWindow {
  readonly #buffer: Buffer;
  #start = 0;
  #length = 0;

  constructor(
    readonly memory: RemoteMemory,
    windowBytes: number,
  ) {
    this.#buffer = Buffer.alloc(windowBytes);
  }

  /** The 8-byte word at `address`, or null when its page is neither present nor swapped, or unmapped. */
  async word(address: number, residency: PageResidency, limit: number): Promise<number | null> {
    if (address < this.#start || address + 8 > this.#start + this.#length) {
      if (!(await this.#load(address, residency, limit))) return null;
    }
    return u64(this.#buffer, address - this.#start);
  }

  async #load(address: number, residency: PageResidency, limit: number): Promise<boolean> {
    let end: number;
    if (residency.isPresent(address)) {
      end = Math.min(address + this.#buffer.length, residency.presentRunEnd(address, Math.max(limit, address + 8)));
    } else if (residency.isSwapped(address)) {
      end = Math.min(alignUp(address + 1, residency.pageBytes), address + this.#buffer.length);
    } else {
      return false;
    }
    end = Math.max(end, address + 8);
    this.#length = 0;
    const read = await this.memory.read(address, end - address, this.#buffer.subarray(0, end - address));
    if (read === null) return false;
    this.#start = address;
    this.#length = end - address;
    return true;
  }
}

// ---- the walk -----------------------------------------------------------------------------------

/** One heap as walked: its range, its pages, and a bit per 16 bytes marking the in-use chunks' starts. */
interface WalkedHeap {
  arena: ArenaWalk;
  start: number;
  end: number;
  residency: PageResidency;
  inUseStarts: Uint8Array;
  /** The heap as the result shows it: its in-use resident bytes are kept up to date as chunks are found. */
  range: HeapRange;
}

interface ArenaHead {
  address: number;
  main: boolean;
  top: number;
  systemMem: number;
  flags: number;
  /** The arena's mutex was held when read: a thread was inside malloc or free, and the arena may be half-updated. */
  locked: boolean;
  fastbins: number[];
}

/**
 * Walks every arena of glibc malloc in process `pid`. Throws ProcessMemoryError only when the
 * process cannot be read at all; a process that changes its heap faster than it can be read gives a
 * result with `complete: false`.
 */
export async function walkGlibcHeap(pid: number, target: GlibcHeapTarget, options: WalkGlibcHeapOptions = {}): Promise<GlibcHeapWalk> {
  const started = performance.now();
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const windowBytes = options.windowBytes ?? 1024 * 1024;
  const opened = await openProcessMemory(pid);
  const { mem, pagemap } = opened;
  try {
    let result: GlibcHeapWalk | null = null;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const walker = new Walker(pid, new RemoteMemory(pid, mem), pagemap, target, windowBytes);
      result = await walker.walk();
      result.attempts = attempt;
      if (result.complete) break;
    }
    result!.elapsedMs = performance.now() - started;
    return result!;
  } finally {
    await opened.close();
  }
}

class Walker {
  readonly #heaps: WalkedHeap[] = [];
  readonly #tcacheCandidates: number[] = [];
  readonly #notes: string[] = [];
  readonly #window: HeaderWindow;
  readonly #pageBytes = pageSize();

  constructor(
    readonly pid: number,
    readonly memory: RemoteMemory,
    readonly pagemap: FileHandle,
    readonly target: GlibcHeapTarget,
    windowBytes: number,
  ) {
    this.#window = new HeaderWindow(memory, windowBytes);
  }

  async walk(): Promise<GlibcHeapWalk> {
    const result: GlibcHeapWalk = {
      complete: false,
      problem: null,
      attempts: 1,
      arenas: [],
      mmapped: { ...totals(), ranges: [], glibc: null },
      tcache: { status: 'unknown', perThreadStructs: 0, countLimit: DEFAULT_TCACHE_COUNT },
      notes: this.#notes,
      elapsedMs: 0,
    };
    const mp = this.target.mp === undefined || this.target.mp === null ? null : Number(this.target.mp);
    const mpBytes = mp === null ? null : await this.memory.read(mp, MP.size);
    if (mp !== null && mpBytes === null) return this.#fail(result, `mp_ at ${hex(mp)} cannot be read`);
    if (mpBytes !== null) {
      result.tcache.countLimit = u64(mpBytes, MP.tcacheCount);
      result.mmapped.glibc = { chunks: mpBytes.readInt32LE(MP.nMmaps), bytes: u64(mpBytes, MP.mmappedMem) };
    } else {
      this.#notes.push(
        `mp_ not given: tcache bins are taken to hold at most ${DEFAULT_TCACHE_COUNT} chunks, and glibc's mmapped-chunk counters are not read`,
      );
    }

    try {
      const heads = await this.#readArenaList(Number(this.target.mainArena));
      for (const head of heads) result.arenas.push(await this.#walkArena(head, mpBytes));
      await this.#walkFastbins(heads, result.arenas);
      await this.#walkTcaches(result);
      await this.#findMmappedChunks(result);
      // The heaps were read over some time: if any arena's top or size moved meanwhile, the figures mix two states.
      const again = await this.#readArenaList(Number(this.target.mainArena));
      const moved = heads.find(
        (head, i) => again[i]?.address !== head.address || again[i]?.top !== head.top || again[i]?.systemMem !== head.systemMem,
      );
      if (again.length !== heads.length || moved !== undefined) {
        throw new Race(`arena ${hex((moved ?? heads.at(-1)!).address)} changed (top, size or the arena list) while it was read`);
      }
    } catch (error) {
      if (error instanceof Race) return this.#fail(result, error.message);
      throw error;
    }
    const broken = result.arenas.find((arena) => arena.problem !== null);
    if (broken !== undefined) return this.#fail(result, `arena ${hex(Number(broken.address))}: ${broken.problem}`);
    result.complete = true;
    return result;
  }

  #fail(result: GlibcHeapWalk, problem: string): GlibcHeapWalk {
    result.complete = false;
    result.problem = problem;
    return result;
  }

  /** main_arena and the arenas its `next` list leads to, back to main_arena. */
  async #readArenaList(mainArena: number): Promise<ArenaHead[]> {
    const heads: ArenaHead[] = [];
    let address = mainArena;
    for (let i = 0; i < MAX_ARENAS; i++) {
      const bytes = await this.memory.read(address, ARENA.size);
      if (bytes === null) throw new Race(`arena ${hex(address)} cannot be read`);
      const fastbins: number[] = [];
      for (let bin = 0; bin < FASTBINS; bin++) fastbins.push(u64(bytes, ARENA.fastbinsY + bin * 8));
      heads.push({
        address,
        main: address === mainArena,
        top: u64(bytes, ARENA.top),
        systemMem: u64(bytes, ARENA.systemMem),
        flags: bytes.readInt32LE(ARENA.flags),
        locked: bytes.readInt32LE(ARENA.mutex) !== 0,
        fastbins,
      });
      const next = u64(bytes, ARENA.next);
      if (next === mainArena) return heads;
      // A non-main arena sits right after the heap_info at the start of its first heap.
      if (next - HEAP_INFO.sizeof !== heapFor(next)) throw new Race(`arena ${hex(address)} links to ${hex(next)}, which is no arena`);
      address = next;
    }
    throw new Race(`the arena list does not come back to main_arena within ${MAX_ARENAS} arenas`);
  }

  async #walkArena(head: ArenaHead, mp: Buffer | null): Promise<ArenaWalk> {
    const arena: ArenaWalk = {
      address: BigInt(head.address),
      main: head.main,
      heaps: [],
      systemBytes: head.systemMem,
      inUse: totals(),
      free: totals(),
      top: totals(),
      fastbin: totals(),
      tcache: totals(),
      overhead: totals(),
      problem: null,
    };
    // An arena that has not allocated yet points top at its own bins.
    if (head.top >= head.address && head.top < head.address + ARENA.size) return arena;
    try {
      if (head.main) await this.#walkMainHeap(arena, head, mp);
      else await this.#walkArenaHeaps(arena, head);
    } catch (error) {
      if (!(error instanceof Race)) throw error;
      arena.problem = `${error.message}${head.locked ? ' (its lock was held: a thread was inside malloc or free)' : ''}`;
    }
    return arena;
  }

  async #walkMainHeap(arena: ArenaWalk, head: ArenaHead, mp: Buffer | null): Promise<void> {
    if (head.flags & NONCONTIGUOUS_BIT) {
      throw new Race('the main arena is non-contiguous (brk failed and it went on in mmapped memory): its heap is not walked');
    }
    const heapMapping = this.target.maps.find((m) => m.path === '[heap]');
    const start =
      mp !== null
        ? u64(mp, MP.sbrkBase)
        : this.target.heapStart !== undefined
          ? Number(this.target.heapStart)
          : Number(heapMapping?.start ?? 0n);
    if (start === 0) throw new Race('the main arena has a top chunk but no brk heap was found');
    const mapping = this.target.maps.find((m) => Number(m.start) <= start && start < Number(m.end));
    if (mapping === undefined) throw new Race(`the brk heap's start ${hex(start)} is in no mapping`);
    const mappingEnd = Number(mapping.end);
    if (head.top < start || head.top + MINSIZE > mappingEnd)
      throw new Race(`top ${hex(head.top)} is outside the brk heap ${hex(start)}-${hex(mappingEnd)}`);
    const residency = await this.#residency(start, mappingEnd);
    const topSize = await this.#chunkSize(head.top, residency, mappingEnd);
    const end = head.top + topSize;
    if (topSize < MINSIZE || end > mappingEnd)
      throw new Race(`top chunk ${hex(head.top)} of ${topSize} bytes runs past the brk heap's end ${hex(mappingEnd)}`);
    const heap = this.#addHeap(arena, start, end, residency);
    const first = alignChunk(start);
    this.#add(arena.overhead, start, first - start, residency, 0);
    await this.#walkChunks(heap, first, head.top);
    this.#add(arena.top, head.top, topSize, residency);
    if (end !== mappingEnd)
      this.#notes.push(`the brk heap's top ends at ${hex(end)}, below its mapping's end ${hex(mappingEnd)}: the rest is not counted`);
  }

  async #walkArenaHeaps(arena: ArenaWalk, head: ArenaHead): Promise<void> {
    const firstHeap = heapFor(head.address);
    let heapStart = heapFor(head.top);
    for (let i = 0; i < MAX_HEAPS_PER_ARENA; i++) {
      const info = await this.memory.read(heapStart, HEAP_INFO.sizeof);
      if (info === null) throw new Race(`heap ${hex(heapStart)} cannot be read`);
      const owner = u64(info, HEAP_INFO.arPtr);
      const size = u64(info, HEAP_INFO.size);
      if (owner !== head.address || size < HEAP_INFO.sizeof || size > HEAP_MAX) {
        throw new Race(`heap ${hex(heapStart)} does not look like one of this arena's (ar_ptr ${hex(owner)}, size ${size})`);
      }
      const end = heapStart + size;
      const residency = await this.#residency(heapStart, end);
      const heap = this.#addHeap(arena, heapStart, end, residency);
      const first = heapStart === firstHeap ? alignChunk(head.address + ARENA.size) : alignChunk(heapStart + HEAP_INFO.sizeof);
      this.#add(arena.overhead, heapStart, first - heapStart, residency, 0);
      if (i === 0) {
        // The newest heap ends with the top chunk, which must reach its end exactly.
        await this.#walkChunks(heap, first, head.top);
        const topSize = await this.#chunkSize(head.top, residency, end);
        if (head.top + topSize !== end)
          throw new Race(`top chunk ${hex(head.top)} of ${topSize} bytes does not end at its heap's end ${hex(end)}`);
        this.#add(arena.top, head.top, topSize, residency);
      } else {
        // An older heap ends with fenceposts where its top was, when the arena moved to a new heap.
        await this.#walkChunks(heap, first, end);
      }
      if (heapStart === firstHeap) return;
      const prev = u64(info, HEAP_INFO.prev);
      if (prev !== heapFor(prev) || prev === 0) throw new Race(`heap ${hex(heapStart)} links to ${hex(prev)}, which is no heap`);
      heapStart = prev;
    }
    throw new Race(`more than ${MAX_HEAPS_PER_ARENA} heaps`);
  }

  async #residency(start: number, end: number): Promise<PageResidency> {
    try {
      return await readPageResidency(this.pagemap, start, end, this.#pageBytes);
    } catch (error) {
      throw processMemoryError(this.pid, `/proc/${this.pid}/pagemap`, error);
    }
  }

  #addHeap(arena: ArenaWalk, start: number, end: number, residency: PageResidency): WalkedHeap {
    const range: HeapRange = {
      start: BigInt(start),
      end: BigInt(end),
      residentBytes: residency.residentBytes(start, end),
      inUseResidentBytes: 0,
    };
    const heap: WalkedHeap = { arena, start, end, residency, inUseStarts: new Uint8Array(Math.ceil((end - start) / ALIGNMENT / 8)), range };
    arena.heaps.push(range);
    this.#heaps.push(heap);
    return heap;
  }

  /** The size of the chunk at `address`, flags cleared; a Race when its header cannot be read. */
  async #chunkSize(address: number, residency: PageResidency, limit: number): Promise<number> {
    const size = await this.#window.word(address + 8, residency, limit);
    if (size === null) throw new Race(`the header of chunk ${hex(address)} cannot be read`);
    return size - (size % 8);
  }

  /**
   * Walks the chunks of [first, stop): each is in use iff the next one's PREV_INUSE bit is set. In an
   * older heap (stop is its end) a header of size 0 or 16 is the fencepost that ends it.
   */
  async #walkChunks(heap: WalkedHeap, first: number, stop: number): Promise<void> {
    const arena = heap.arena;
    const { residency } = heap;
    const olderHeap = stop === heap.end;
    let chunk = first;
    let size = chunk < stop ? await this.#chunkSize(chunk, residency, stop) : 0;
    while (chunk < stop) {
      if (olderHeap && (size === 0 || size === HEADER)) {
        this.#add(arena.overhead, chunk, heap.end - chunk, residency, 0);
        return;
      }
      if (size < MINSIZE || size % ALIGNMENT !== 0 || chunk + size > stop) {
        throw new Race(`chunk ${hex(chunk)} has size ${size}, which ${chunk + size > stop ? `runs past ${hex(stop)}` : 'is impossible'}`);
      }
      const next = chunk + size;
      const nextField = await this.#window.word(next + 8, residency, heap.end);
      if (nextField === null) throw new Race(`the header of chunk ${hex(next)} cannot be read`);
      if (nextField & PREV_INUSE) {
        this.#add(arena.inUse, chunk, size, residency);
        heap.range.inUseResidentBytes += residency.residentBytes(chunk, chunk + size);
        const bit = (chunk - heap.start) / ALIGNMENT;
        heap.inUseStarts[bit >> 3]! |= 1 << (bit & 7);
        if (size === TCACHE.chunkSize) {
          if (this.#tcacheCandidates.length < MAX_TCACHE_CANDIDATES) this.#tcacheCandidates.push(chunk);
          else if (this.#tcacheCandidates.length === MAX_TCACHE_CANDIDATES)
            this.#notes.push(`more than ${MAX_TCACHE_CANDIDATES} chunks of 0x290 bytes: only the first are tried as tcaches`);
        }
      } else {
        this.#add(arena.free, chunk, size, residency);
      }
      chunk = next;
      size = nextField - (nextField % 8);
    }
    if (chunk !== stop) throw new Race(`the chunks end at ${hex(chunk)}, not at ${hex(stop)}`);
  }

  #add(into: ChunkTotals, start: number, bytes: number, residency: PageResidency, chunks = 1): void {
    into.chunks += chunks;
    into.bytes += bytes;
    into.residentBytes += residency.residentBytes(start, start + bytes);
  }

  /** The walked heap holding an in-use chunk starting at `chunk`, or undefined. */
  #inUseChunk(chunk: number): WalkedHeap | undefined {
    if (chunk % ALIGNMENT !== 0) return undefined;
    const heap = this.#heaps.find((h) => h.start <= chunk && chunk < h.end);
    if (heap === undefined) return undefined;
    const bit = (chunk - heap.start) / ALIGNMENT;
    return heap.inUseStarts[bit >> 3]! & (1 << (bit & 7)) ? heap : undefined;
  }

  /** Moves an in-use chunk to the free list it was found on (a fastbin or a tcache); false if it is no in-use chunk of a walked heap. */
  #moveToFreeList(chunk: number, size: number, category: 'fastbin' | 'tcache'): boolean {
    const heap = this.#inUseChunk(chunk);
    if (heap === undefined || chunk + size > heap.end) return false;
    const bit = (chunk - heap.start) / ALIGNMENT;
    heap.inUseStarts[bit >> 3]! &= ~(1 << (bit & 7));
    const resident = heap.residency.residentBytes(chunk, chunk + size);
    const { inUse } = heap.arena;
    inUse.chunks -= 1;
    inUse.bytes -= size;
    inUse.residentBytes -= resident;
    heap.range.inUseResidentBytes -= resident;
    const into = heap.arena[category];
    into.chunks += 1;
    into.bytes += size;
    into.residentBytes += resident;
    return true;
  }

  /** Each arena's fastbins: singly linked, safe-linked, chunks of (bin + 2) * 16 bytes. */
  async #walkFastbins(heads: ArenaHead[], arenas: ArenaWalk[]): Promise<void> {
    const bound = this.#heaps.reduce((sum, heap) => sum + (heap.end - heap.start) / MINSIZE, 0);
    for (const [index, head] of heads.entries()) {
      if (arenas[index]!.problem !== null) continue;
      for (let bin = 0; bin < FASTBINS; bin++) {
        const size = (bin + 2) * ALIGNMENT;
        let chunk = head.fastbins[bin]!;
        for (let steps = 0; chunk !== 0; steps++) {
          if (steps > bound) throw new Race(`fastbin ${bin} of arena ${hex(head.address)} loops`);
          const heap = this.#inUseChunk(chunk);
          const header = heap === undefined ? null : await this.memory.read(chunk + 8, 16);
          if (
            heap === undefined ||
            header === null ||
            u64(header, 0) - (u64(header, 0) % 8) !== size ||
            !this.#moveToFreeList(chunk, size, 'fastbin')
          ) {
            throw new Race(`fastbin ${bin} of arena ${hex(head.address)} leads to ${hex(chunk)}, no in-use chunk of ${size} bytes`);
          }
          chunk = revealPointer(chunk + HEADER, u64(header, 8));
        }
      }
    }
  }

  /**
   * The per-thread caches. Their pointers are in each thread's TLS, out of reach, so they are found
   * by shape among the in-use chunks of 0x290 bytes: counts[64] no larger than tcache_count, and an
   * entry exactly where the count is not zero, pointing at an in-use chunk of a walked heap.
   */
  async #walkTcaches(result: GlibcHeapWalk): Promise<void> {
    const limit = result.tcache.countLimit;
    for (const candidate of this.#tcacheCandidates) {
      const bytes = await this.memory.read(candidate + HEADER, TCACHE.sizeof);
      if (bytes === null) continue;
      let shaped = true;
      for (let bin = 0; bin < TCACHE.bins && shaped; bin++) {
        const count = bytes.readUInt16LE(bin * 2);
        const entry = u64(bytes, TCACHE.entries + bin * 8);
        shaped = count <= limit && (count === 0) === (entry === 0) && (entry === 0 || this.#inUseChunk(entry - HEADER) !== undefined);
      }
      if (!shaped) continue;
      result.tcache.perThreadStructs++;
      for (let bin = 0; bin < TCACHE.bins; bin++) {
        const count = bytes.readUInt16LE(bin * 2);
        const size = MINSIZE + bin * ALIGNMENT;
        let entry = u64(bytes, TCACHE.entries + bin * 8);
        for (let taken = 0; taken < count; taken++) {
          const header = entry === 0 ? null : await this.memory.read(entry - 8, 16);
          if (header === null || u64(header, 0) - (u64(header, 0) % 8) !== size || !this.#moveToFreeList(entry - HEADER, size, 'tcache')) {
            throw new Race(`tcache ${hex(candidate)} bin ${bin} leads to ${hex(entry)}, no in-use chunk of ${size} bytes`);
          }
          entry = revealPointer(entry, u64(header, 8));
        }
      }
    }
    if (result.tcache.perThreadStructs > 0) result.tcache.status = 'walked';
    else this.#notes.push("no tcache_perthread_struct found: chunks in the threads' tcaches are counted as in use");
  }

  /**
   * Chunks glibc mmapped on their own: an anonymous rw mapping that starts with a chunk header with
   * IS_MMAPPED set and a page-multiple size; the kernel may have merged several such mappings into
   * one, so the chunks are followed as long as they chain.
   */
  async #findMmappedChunks(result: GlibcHeapWalk): Promise<void> {
    const heaps = this.#heaps;
    for (const mapping of this.target.maps) {
      if (!mapping.perms.startsWith('rw') || !(mapping.path === '' || mapping.path.startsWith('[anon:'))) continue;
      const start = Number(mapping.start);
      const mappingEnd = Number(mapping.end);
      if (heaps.some((heap) => heap.start <= start && start < heap.end)) continue;
      // The kernel merges a chunk mapped right below a thread arena's heap with that heap: stop at it.
      const end = Math.min(mappingEnd, ...heaps.filter((heap) => start < heap.start && heap.start < mappingEnd).map((heap) => heap.start));
      // The header's page must be in RAM (it was written); reading one that is not would map the zero page.
      let residency = await this.#residency(start, start + this.#pageBytes);
      let chunk = start;
      while (chunk < end && residency.isPresent(chunk)) {
        const header = await this.memory.read(chunk, HEADER);
        if (header === null) break;
        const field = u64(header, 8);
        const size = field - (field % 8);
        if (u64(header, 0) !== 0 || (field & SIZE_BITS) !== IS_MMAPPED || size === 0 || size % this.#pageBytes !== 0 || chunk + size > end)
          break;
        if (residency.end < chunk + size) residency = await this.#residency(start, end);
        this.#add(result.mmapped, chunk, size, residency);
        result.mmapped.ranges.push({
          start: BigInt(chunk),
          end: BigInt(chunk + size),
          residentBytes: residency.residentBytes(chunk, chunk + size),
        });
        chunk += size;
      }
    }
    const glibc = result.mmapped.glibc;
    if (glibc !== null && (glibc.chunks !== result.mmapped.chunks || glibc.bytes !== result.mmapped.bytes)) {
      this.#notes.push(
        `glibc counts ${glibc.chunks} mmapped chunks of ${glibc.bytes} bytes; the scan found ${result.mmapped.chunks} of ${result.mmapped.bytes} (a memaligned chunk, or one merged after another mapping, is not found)`,
      );
    }
  }
}
