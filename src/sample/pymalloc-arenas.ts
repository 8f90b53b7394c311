// Finds CPython's pymalloc arenas in a running process from outside, without stopping it, by their
// content: every pool of an arena starts with a pool_header whose fields check one another, so a
// scan of the anonymous memory at every pool-aligned address finds the pools, and the pools' common
// arenaindex groups them into arenas. No symbol is needed (Debian's python3.11 is stripped), and
// nothing in the process is written or stopped.
//
// Reference: CPython's Objects/obmalloc.c (3.6 to 3.11) and Include/internal/pycore_obmalloc.h
// (3.12+, where the allocator's state moved into the interpreter but the arena and pool layout did
// not change). On a 64-bit build:
//
//   struct pool_header {                       offset
//       union { block *_padding; uint count; } ref;   0  blocks in use (the upper 4 bytes stay 0)
//       block *freeblock;                             8  the pool's free list
//       struct pool_header *nextpool, *prevpool;  16, 24  usedpools[] ring, or the arena's freepools list
//       uint arenaindex;                             32  index of the arena in arenas[]
//       uint szidx;                                  36  size class: blocks of (szidx + 1) * ALIGNMENT bytes
//       uint nextoffset;                             40  offset of the next never-used block
//       uint maxnextoffset;                          44  POOL_SIZE - block size
//   };                                           48 bytes; POOL_OVERHEAD = 48 rounded up to ALIGNMENT
//
//   ALIGNMENT 16 (SIZEOF_VOID_P > 4, since 3.8; pyenv's 3.6.15 and 3.7.16 also print "in 32 size
//   classes", so 8 is tried too before 3.8), SMALL_REQUEST_THRESHOLD 512: 32 size classes.
//   ARENA_BITS 20 (1 MiB, USE_LARGE_ARENAS) and POOL_BITS 14 (16 KiB, USE_LARGE_POOLS, which needs
//   WITH_PYMALLOC_RADIX_TREE, on by default) since 3.10; before, ARENA_SIZE 256 KiB and POOL_SIZE
//   4 KiB (SYSTEM_PAGE_SIZE). sys._debugmallocstats() prints the arena size ("N arenas * 1048576
//   bytes/arena") and the size classes; the tests compare the scan with it.
//
// How pools live (obmalloc.c, allocate_from_new_pool, pymalloc_alloc, insert_to_freepool):
// - An arena is one mmap of ARENA_SIZE (ARENAS_USE_MMAP): anonymous rw-p memory, page-aligned only.
//   Its first pool starts at the base rounded up to POOL_SIZE (then the arena has one pool fewer),
//   and pools are carved in address order from there. Adjacent arenas merge into one kernel VMA, so
//   the scan reads content, not mapping sizes.
// - Carving a pool writes its arenaindex and links it into usedpools; initialising it for a size
//   class writes szidx, nextoffset = POOL_OVERHEAD + 2 * size, maxnextoffset = POOL_SIZE - size.
//   nextoffset grows by one size per block carved, up to maxnextoffset + size.
// - freeblock is null exactly when the pool is full (every block carved and in use).
// - A pool whose last block is freed gets count 0 and goes onto its arena's freepools list, with
//   its header kept (szidx and all): an empty pool, whose pages pymalloc retains. An arena whose
//   pools are all empty is unmapped (3.9+ keeps at most one such arena).
// - Pools never carved (from arena->pool_address on) have no header: zero pages, usually not in RAM.
//
// The process runs while it is read: a header caught mid-update fails its checks and is counted in
// `inconsistentHeaders` (its pool then counts as untouched). Only a process that cannot be read at
// all (gone, or not ours) throws a ProcessMemoryError. Pages that are not in RAM are never read (a
// read would fault them in): a pool whose header page is swapped out is not seen.
import type { FileHandle } from 'node:fs/promises';
import { pageSize } from './linux-proc.js';
import { readPageResidency, type PageResidency } from './pagemap.js';
import { isAlive, openProcessMemory, processMemoryError, ProcessMemoryError, type MemoryRange } from './process-memory.js';
import { cpythonOfMappings, type CPythonRuntime } from './python-runtime.js';

/** The constants of pymalloc's layout for one CPython version (64-bit). */
export interface PymallocLayout {
  arenaBytes: number;
  poolBytes: number;
  /** Size-class spacings to try, the likeliest first: ALIGNMENT is 16 since 3.8, 16 or 8 before. */
  alignments: number[];
  /** SMALL_REQUEST_THRESHOLD: the largest block. */
  largestBlock: number;
  /** sizeof(struct pool_header) before rounding up to ALIGNMENT. */
  headerBytes: number;
}

export interface PymallocArena {
  /** The arena's base (inferred: see `baseCertain`) and end, base + ARENA_SIZE. */
  start: bigint;
  end: bigint;
  /** arenaindex, shared by its pools. */
  index: number;
  /** True when the base is known: all pools present, or the base fits the mapping's edges or the previous arena; otherwise the first pool's address. */
  baseCertain: boolean;
  /** Bytes of [start, end) in RAM. */
  residentBytes: number;
  /** Pools with blocks in use (count ≥ 1). */
  usedPools: number;
  /** Pools with count 0 on the arena's free list. */
  emptyPools: number;
  /** Of the empty pools, the bytes in RAM: memory pymalloc retains without holding any object. */
  emptyResidentBytes: number;
  /** Pools without a header: never carved (or whose header page is swapped out, or was caught mid-update). */
  untouchedPools: number;
  /** Blocks in use times their size (count × size of each used pool). */
  usedBlockBytes: number;
  /** Free blocks of the used pools, carved or not, times their size: fragmentation inside the pools. */
  freeBlockBytes: number;
}

export interface PymallocScan {
  arenas: PymallocArena[];
  /** Sums over the arenas. */
  totals: {
    arenas: number;
    arenaBytes: number;
    residentBytes: number;
    usedPools: number;
    emptyPools: number;
    emptyResidentBytes: number;
    untouchedPools: number;
    usedBlockBytes: number;
    freeBlockBytes: number;
    /** Blocks in use, by block size in bytes. */
    usedBlocksBySize: Record<number, number>;
  };
  layout: PymallocLayout & { alignment: number };
  /** False when a limit (bytes, time) stopped the scan before every mapping was read. */
  complete: boolean;
  /** Address space of the mappings scanned. */
  scannedBytes: number;
  /** Bytes read from /proc/PID/mem (pool headers) and /proc/PID/pagemap. */
  bytesRead: { mem: number; pagemap: number };
  /** Pool-aligned addresses on swapped-out pages, not read. */
  swappedPoolAddresses: number;
  /** Headers that had a pool's shape (a plausible szidx and maxnextoffset) but failed another check. */
  inconsistentHeaders: number;
  elapsedMs: number;
  notes: string[];
}

export interface ScanPymallocOptions {
  /** Stop reading headers after this many bytes of /proc/PID/mem. Default 64 MiB (1.4 M pools, 21 GiB of arenas). */
  maxReadBytes?: number;
  /** Stop scanning after this long; the result is then partial (complete: false). Default 30 s. */
  deadlineMs?: number;
  /** Largest arenaindex believed (arenas[] doubles as it grows: 2^20 arenas is 1 TiB). Default 2^20. */
  maxArenaIndex?: number;
  /** Called after each mapping is scanned, with the bytes scanned so far (the tests stop the target here). */
  onProgress?: (scannedBytes: number) => void | Promise<void>;
}

/** /proc/PID/mem or pagemap could not be read at all. */

export type PymallocReading =
  | { status: 'not-cpython'; reason: string }
  | { status: 'unsupported'; runtime: CPythonRuntime; reason: string }
  | { status: 'scanned'; runtime: CPythonRuntime; scan: PymallocScan };

// ---- the layout ---------------------------------------------------------------------------------

const KIB = 1024;
const HEADER = {
  count: 0,
  countHigh: 4,
  freeblock: 8,
  nextpool: 16,
  prevpool: 24,
  arenaindex: 32,
  szidx: 36,
  nextoffset: 40,
  maxnextoffset: 44,
};
const HEADER_BYTES = 48;
/** Highest user-space address on x86-64 and arm64 with 48-bit addresses. */
const USER_ADDRESS_LIMIT = 2 ** 47;

/**
 * pymalloc's constants for CPython `major.minor` on a 64-bit build, or a reason why it has none:
 * before 3.6 (not checked), a free-threaded build (mimalloc, no arenas).
 */
export function pymallocLayout(runtime: { major: number; minor: number; abiFlags?: string }): PymallocLayout | string {
  const { major, minor } = runtime;
  if (runtime.abiFlags?.includes('t'))
    return `CPython ${major}.${minor}${runtime.abiFlags} is free-threaded: its objects come from mimalloc, not pymalloc`;
  if (major !== 3 || minor < 6) return `CPython ${major}.${minor}: pymalloc's layout is checked for 3.6 and later only`;
  const large = minor >= 10;
  return {
    arenaBytes: large ? 1024 * KIB : 256 * KIB,
    poolBytes: large ? 16 * KIB : 4 * KIB,
    alignments: minor >= 8 ? [16] : [16, 8],
    largestBlock: 512,
    headerBytes: HEADER_BYTES,
  };
}

// ---- reading the target -------------------------------------------------------------------------

/** Reads of HEADER_BYTES at many addresses of /proc/PID/mem, a batch at a time (the reads overlap in libuv's pool). */
class HeaderReader {
  static readonly BATCH = 64;
  readonly #buffer = Buffer.alloc(HeaderReader.BATCH * HEADER_BYTES);
  bytesRead = 0;

  constructor(
    readonly pid: number,
    readonly mem: FileHandle,
  ) {}

  /** The headers at `addresses` (at most BATCH), each a view of a shared buffer, or null where the address reads nothing. */
  async read(addresses: readonly number[]): Promise<(Buffer | null)[]> {
    const results = await Promise.all(
      addresses.map(async (address, slot) => {
        const view = this.#buffer.subarray(slot * HEADER_BYTES, (slot + 1) * HEADER_BYTES);
        try {
          const { bytesRead } = await this.mem.read(view, 0, HEADER_BYTES, address);
          this.bytesRead += bytesRead;
          return bytesRead === HEADER_BYTES ? view : bytesRead === 0 ? 'nothing' : null;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // An address unmapped since the maps were read.
          if (code === 'EIO' || code === 'EFAULT') return null;
          throw processMemoryError(this.pid, `/proc/${this.pid}/mem`, error);
        }
      }),
    );
    // A process that exited reads nothing anywhere; one that lives, nothing at an unmapped address.
    if (results.includes('nothing') && !(await isAlive(this.pid)))
      throw new ProcessMemoryError(`process ${this.pid} exited while its pymalloc arenas were read`, 'exited');
    return results.map((result) => (result === 'nothing' ? null : result));
  }
}

// ---- recognising a pool -------------------------------------------------------------------------

interface PoolHeader {
  address: number;
  arenaIndex: number;
  count: number;
  blockBytes: number;
  capacity: number;
}

type HeaderVerdict = PoolHeader | 'not-a-pool' | 'inconsistent';

const u64 = (buffer: Buffer, offset: number) => buffer.readUInt32LE(offset + 4) * 2 ** 32 + buffer.readUInt32LE(offset);
const isPointer = (value: number) => value < USER_ADDRESS_LIMIT && value % 8 === 0;

/**
 * Reads `header` (the first 48 bytes at pool-aligned `address`) as a pool_header of `layout` with
 * size classes spaced `alignment` apart. 'not-a-pool' when szidx and maxnextoffset do not name a
 * size class (zero pages, other data); 'inconsistent' when they do but another field disagrees
 * (a header caught mid-update, or data that looks like one by chance).
 */
export function readPoolHeader(
  header: Buffer,
  address: number,
  layout: PymallocLayout,
  alignment: number,
  maxArenaIndex: number,
): HeaderVerdict {
  const overhead = Math.ceil(layout.headerBytes / alignment) * alignment;
  const szidx = header.readUInt32LE(HEADER.szidx);
  const blockBytes = (szidx + 1) * alignment;
  if (blockBytes > layout.largestBlock) return 'not-a-pool';
  if (header.readUInt32LE(HEADER.maxnextoffset) !== layout.poolBytes - blockBytes) return 'not-a-pool';
  const count = header.readUInt32LE(HEADER.count);
  const nextoffset = header.readUInt32LE(HEADER.nextoffset);
  const freeblock = u64(header, HEADER.freeblock);
  const capacity = Math.floor((layout.poolBytes - overhead) / blockBytes);
  const carved = (nextoffset - overhead) / blockBytes;
  const arenaIndex = header.readUInt32LE(HEADER.arenaindex);
  const consistent =
    header.readUInt32LE(HEADER.countHigh) === 0 &&
    Number.isInteger(carved) &&
    carved >= Math.min(2, capacity) &&
    carved <= capacity &&
    count <= carved &&
    // freeblock is null exactly when every block is carved and in use; otherwise a block of the pool.
    (freeblock === 0
      ? count === capacity && carved === capacity
      : freeblock >= address + overhead && freeblock < address + layout.poolBytes && (freeblock - address - overhead) % blockBytes === 0) &&
    isPointer(u64(header, HEADER.nextpool)) &&
    isPointer(u64(header, HEADER.prevpool)) &&
    // Every pool was linked into usedpools when carved; a used pool still is (or was, when full).
    u64(header, HEADER.prevpool) !== 0 &&
    (count === 0 || u64(header, HEADER.nextpool) !== 0) &&
    arenaIndex < maxArenaIndex;
  return consistent ? { address, arenaIndex, count, blockBytes, capacity } : 'inconsistent';
}

// ---- the scan -----------------------------------------------------------------------------------

/** The pools found in one mapping's pages, and its residency. */
interface ScannedMapping {
  start: number;
  end: number;
  residency: PageResidency;
}

const alignUp = (value: number, to: number) => Math.ceil(value / to) * to;

/** Anonymous private read-write mappings: where mmap puts pymalloc's arenas. */
function arenaCandidates(mappings: readonly MemoryRange[], poolBytes: number): MemoryRange[] {
  return mappings
    .filter(
      (mapping) =>
        mapping.path === '' &&
        mapping.perms.startsWith('rw') &&
        mapping.perms[3] === 'p' &&
        mapping.end - mapping.start >= BigInt(poolBytes),
    )
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/**
 * Scans process `pid` for pymalloc arenas, given its mappings (/proc/PID/maps) and CPython version.
 * Throws ProcessMemoryError only when the process cannot be read at all (gone: 'exited'; not ours:
 * 'no-permission'); a process that changes while it is read gives headers counted as inconsistent,
 * and limits reached give `complete: false`.
 */
export async function scanPymallocArenas(
  pid: number,
  target: { mappings: readonly MemoryRange[]; version: { major: number; minor: number; abiFlags?: string } },
  options: ScanPymallocOptions = {},
): Promise<PymallocScan> {
  const started = performance.now();
  const layout = pymallocLayout(target.version);
  if (typeof layout === 'string') throw new TypeError(layout);
  const maxReadBytes = options.maxReadBytes ?? 64 * 1024 * KIB;
  const deadline = started + (options.deadlineMs ?? 30_000);
  const maxArenaIndex = options.maxArenaIndex ?? 2 ** 20;
  const pageBytes = pageSize();
  const notes: string[] = [];

  const opened = await openProcessMemory(pid);
  const { mem, pagemap } = opened;
  const reader = new HeaderReader(pid, mem);
  const scanned: ScannedMapping[] = [];
  const pools: PoolHeader[] = [];
  let pagemapBytes = 0;
  let scannedBytes = 0;
  let swapped = 0;
  let inconsistent = 0;
  let complete = true;
  // Before 3.8 the size-class spacing is not known from the version: the first that gives pools wins.
  let alignment: number | null = layout.alignments.length === 1 ? layout.alignments[0]! : null;
  try {
    for (const mapping of arenaCandidates(target.mappings, layout.poolBytes)) {
      if (reader.bytesRead >= maxReadBytes || performance.now() > deadline) {
        complete = false;
        break;
      }
      const start = Number(mapping.start);
      const end = Number(mapping.end);
      let residency: PageResidency;
      try {
        residency = await readPageResidency(pagemap, start, end, pageBytes);
      } catch (error) {
        throw processMemoryError(pid, `/proc/${pid}/pagemap`, error);
      }
      pagemapBytes += residency.pageCount * 8;
      scanned.push({ start, end, residency });
      scannedBytes += end - start;

      // Every pool-aligned address whose header lies in the mapping, on a page in RAM.
      const addresses: number[] = [];
      for (let address = alignUp(start, layout.poolBytes); address + HEADER_BYTES <= end; address += layout.poolBytes) {
        if (residency.isPresent(address)) addresses.push(address);
        else if (residency.isSwapped(address)) swapped++;
      }
      for (let first = 0; first < addresses.length; first += HeaderReader.BATCH) {
        if (reader.bytesRead >= maxReadBytes || performance.now() > deadline) {
          complete = false;
          break;
        }
        const batch = addresses.slice(first, first + HeaderReader.BATCH);
        const headers = await reader.read(batch);
        for (let i = 0; i < batch.length; i++) {
          const header = headers[i];
          if (header === null || header === undefined) continue;
          const verdict = recognise(header, batch[i]!);
          if (verdict === 'inconsistent') inconsistent++;
          else if (verdict !== 'not-a-pool') pools.push(verdict);
        }
      }
      await options.onProgress?.(scannedBytes);
      if (!complete) break;
    }
    // A process gone meanwhile reads as empty pagemaps rather than an error: what was scanned of it proves nothing.
    if (!(await isAlive(pid))) throw new ProcessMemoryError(`process ${pid} exited while its pymalloc arenas were read`, 'exited');
  } finally {
    await opened.close();
  }

  function recognise(header: Buffer, address: number): HeaderVerdict {
    if (alignment !== null) return readPoolHeader(header, address, layout as PymallocLayout, alignment, maxArenaIndex);
    for (const candidate of (layout as PymallocLayout).alignments) {
      const verdict = readPoolHeader(header, address, layout as PymallocLayout, candidate, maxArenaIndex);
      if (typeof verdict !== 'string') {
        alignment = candidate;
        return verdict;
      }
    }
    return 'not-a-pool';
  }

  if (!complete)
    notes.push(
      `stopped after ${reader.bytesRead} bytes of headers and ${Math.round(performance.now() - started)} ms: the limits were reached, arenas beyond were not scanned`,
    );
  if (swapped > 0)
    notes.push(`${swapped} pool-aligned addresses were on swapped-out pages and were not read: pools there are counted as untouched`);
  if (inconsistent > 0)
    notes.push(
      `${inconsistent} headers looked like pools but failed a check (a pool changing while read, or look-alike data): counted as untouched`,
    );
  const arenas = groupArenas(pools, scanned, layout, pageBytes);
  const uncertain = arenas.filter((arena) => !arena.baseCertain).length;
  if (uncertain > 0)
    notes.push(
      `${uncertain} of ${arenas.length} arenas have a base inferred from their first pool (within ${layout.poolBytes / KIB} KiB): their untouched pool count may be one too high`,
    );
  const usedAlignment = alignment ?? layout.alignments[0]!;
  return {
    arenas,
    totals: totalsOf(arenas, pools, layout.arenaBytes),
    layout: { ...layout, alignments: [...layout.alignments], alignment: usedAlignment },
    complete,
    scannedBytes,
    bytesRead: { mem: reader.bytesRead, pagemap: pagemapBytes },
    swappedPoolAddresses: swapped,
    inconsistentHeaders: inconsistent,
    elapsedMs: performance.now() - started,
    notes,
  };
}

/**
 * Groups pools into arenas: pools in address order, with the same arenaindex and within one
 * ARENA_SIZE of the group's first pool, are one arena. The base lies in (first pool − POOL_SIZE,
 * first pool], page-aligned; which page is decided, in this order, by: all pools present (the base
 * is pool-aligned, the first pool), the mapping's end or start an exact number of arenas away
 * (arenas mmapped one below the other share one VMA), the previous arena's end; else it is taken to
 * be the first pool (`baseCertain: false`).
 */
function groupArenas(
  pools: readonly PoolHeader[],
  scanned: readonly ScannedMapping[],
  layout: PymallocLayout,
  pageBytes: number,
): PymallocArena[] {
  const groups: PoolHeader[][] = [];
  for (const pool of pools) {
    const group = groups.at(-1);
    if (group !== undefined && group[0]!.arenaIndex === pool.arenaIndex && pool.address - group[0]!.address < layout.arenaBytes)
      group.push(pool);
    else groups.push([pool]);
  }
  const arenas: PymallocArena[] = [];
  const poolsPerArena = layout.arenaBytes / layout.poolBytes;
  let previousEnd = 0;
  for (const group of groups) {
    const first = group[0]!.address;
    const last = group.at(-1)!.address;
    const mapping = scanned.find((candidate) => candidate.start <= first && first < candidate.end);
    const candidates: number[] = [];
    for (let base = first; base > first - layout.poolBytes; base -= pageBytes) {
      // The arena holds every pool found, and does not overlap the arena before it.
      if (base + layout.arenaBytes >= last + layout.poolBytes && base >= previousEnd) candidates.push(base);
    }
    let base: number | undefined;
    if (group.length === poolsPerArena) base = first;
    base ??= candidates.find((candidate) => mapping !== undefined && (mapping.end - candidate) % layout.arenaBytes === 0);
    base ??= candidates.find((candidate) => mapping !== undefined && (candidate - mapping.start) % layout.arenaBytes === 0);
    base ??= candidates.find((candidate) => candidate === previousEnd);
    const baseCertain = base !== undefined;
    base ??= candidates[0] ?? first;
    const end = base + layout.arenaBytes;
    previousEnd = end;
    const firstPool = alignUp(base, layout.poolBytes);
    const poolCount = Math.floor((end - firstPool) / layout.poolBytes);
    let usedPools = 0;
    let emptyPools = 0;
    let emptyResidentBytes = 0;
    let usedBlockBytes = 0;
    let freeBlockBytes = 0;
    for (const pool of group) {
      if (pool.count === 0) {
        emptyPools++;
        emptyResidentBytes += residentBytes(scanned, pool.address, pool.address + layout.poolBytes);
      } else {
        usedPools++;
        usedBlockBytes += pool.count * pool.blockBytes;
        freeBlockBytes += (pool.capacity - pool.count) * pool.blockBytes;
      }
    }
    arenas.push({
      start: BigInt(base),
      end: BigInt(end),
      index: group[0]!.arenaIndex,
      baseCertain,
      residentBytes: residentBytes(scanned, base, end),
      usedPools,
      emptyPools,
      emptyResidentBytes,
      untouchedPools: Math.max(0, poolCount - group.length),
      usedBlockBytes,
      freeBlockBytes,
    });
  }
  return arenas;
}

/** Bytes of [from, to) in RAM, over the scanned mappings (an arena may straddle two VMAs). */
function residentBytes(scanned: readonly ScannedMapping[], from: number, to: number): number {
  let total = 0;
  for (const mapping of scanned) if (mapping.start < to && from < mapping.end) total += mapping.residency.residentBytes(from, to);
  return total;
}

function totalsOf(arenas: readonly PymallocArena[], pools: readonly PoolHeader[], arenaBytes: number): PymallocScan['totals'] {
  const usedBlocksBySize: Record<number, number> = {};
  for (const pool of pools) if (pool.count > 0) usedBlocksBySize[pool.blockBytes] = (usedBlocksBySize[pool.blockBytes] ?? 0) + pool.count;
  const sum = (
    field: 'residentBytes' | 'usedPools' | 'emptyPools' | 'emptyResidentBytes' | 'untouchedPools' | 'usedBlockBytes' | 'freeBlockBytes',
  ) => arenas.reduce((total, arena) => total + arena[field], 0);
  return {
    arenas: arenas.length,
    arenaBytes: arenas.length * arenaBytes,
    residentBytes: sum('residentBytes'),
    usedPools: sum('usedPools'),
    emptyPools: sum('emptyPools'),
    emptyResidentBytes: sum('emptyResidentBytes'),
    untouchedPools: sum('untouchedPools'),
    usedBlockBytes: sum('usedBlockBytes'),
    freeBlockBytes: sum('freeBlockBytes'),
    usedBlocksBySize,
  };
}

/**
 * Whether process `pid` runs CPython (from `mappings`, its /proc/PID/maps) and, if it does and its
 * version's layout is known, its pymalloc arenas. Throws ProcessMemoryError as scanPymallocArenas does.
 */
export async function readPymalloc(
  pid: number,
  mappings: readonly MemoryRange[],
  options: ScanPymallocOptions = {},
): Promise<PymallocReading> {
  const runtime = cpythonOfMappings(mappings);
  if (runtime === null) return { status: 'not-cpython', reason: 'no pythonX.Y executable or libpythonX.Y.so is mapped' };
  const layout = pymallocLayout(runtime);
  if (typeof layout === 'string') return { status: 'unsupported', runtime, reason: layout };
  const scan = await scanPymallocArenas(pid, { mappings, version: runtime }, options);
  if (runtime.minor > 13)
    scan.notes.push(`CPython ${runtime.major}.${runtime.minor} is newer than the last layout checked (3.13); read as 3.10–3.13`);
  if (scan.arenas.length === 0)
    scan.notes.push('no pymalloc pool was found: the process may run with PYTHONMALLOC=malloc, or not have started its interpreter');
  return { status: 'scanned', runtime, scan };
}
