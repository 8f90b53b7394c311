// The RssExplanation model: one process's resident set split into parts that add up to it, each part
// with its biggest members, and a diagnosis naming the dominant cause. Produced by
// `memtrace explain`, rendered by its table, json and html reports.
//
// The json report is this object as it is. Its contract (docs/tools/explain.md): `rssBytes`,
// `parts: [{ kind, bytes, ... }]`, `diagnosis: [...]`; the other fields may grow.

/**
 * What a resident byte is. `malloc-live`: inside a block the program still holds. `malloc-retained`:
 * freed memory the allocator keeps resident (free chunks, the top chunk, their headers).
 * `malloc-unsplit`: the allocator's memory when live and retained cannot be told apart (no debug
 * information, an allocator memtrace cannot read). `v8-heap`: V8's heap (its committed spaces).
 * `v8-external`: memory V8 objects hold outside that heap (ArrayBuffer backing stores, external
 * strings), allocated through malloc: carved out of malloc's live part. `pymalloc`: CPython's
 * arenas of small objects. `file`: file-backed mappings (binaries, libraries, mapped files, shared
 * memory). `stacks`: thread stacks. `anon-other`: other anonymous memory (direct mmaps, runtimes'
 * heaps that memtrace does not read).
 */
export type RssPartKind =
  'malloc-live' | 'malloc-retained' | 'malloc-unsplit' | 'v8-heap' | 'v8-external' | 'pymalloc' | 'file' | 'stacks' | 'anon-other';

/** How a part's figure was measured. */
export type Accuracy = 'exact' | 'estimate';

export interface RssPartMember {
  /** A mapping's path, an arena, a thread: what the user can look up. */
  name: string;
  bytes: number;
  /** The start address of the mapping or arena, in hex, when the member is one. */
  address?: string;
  detail?: string;
}

export interface RssPart {
  kind: RssPartKind;
  bytes: number;
  /** bytes / rssBytes. */
  share: number;
  accuracy: Accuracy;
  /** One line: how this figure was measured. */
  how: string;
  /** How many members the part has (mappings, arenas, threads); `members` keeps the biggest. */
  count: number;
  members: RssPartMember[];
  /** Bytes of this part's members that a runtime's figure moved into a part of its own (V8's heap out of anonymous memory). */
  carvedOut?: Array<{ into: RssPartKind; bytes: number }>;
}

export interface ArenaState {
  address: string;
  main: boolean;
  /** Bytes mapped for the arena's heaps (its system_mem). */
  systemBytes: number;
  /** Resident bytes of its heaps. */
  residentBytes: number;
  /** Bytes in chunks in use (headers included), and the resident part of them. */
  liveBytes: number;
  liveResidentBytes: number;
  /** Bytes in free chunks, the top chunk included, and the resident part of them. */
  freeBytes: number;
  freeResidentBytes: number;
  /** Of the free bytes: the top chunk's, which malloc_trim or a lower M_TRIM_THRESHOLD give back. */
  topBytes: number;
  topResidentBytes: number;
}

export interface AllocatorState {
  name: 'glibc';
  version: string;
  arenas: ArenaState[];
  /** Blocks above the mmap threshold, each in a mapping of its own. */
  mmapped: { count: number; bytes: number; residentBytes: number };
  /** Why the walk is incomplete (the heap kept changing while it was read); null when it is whole. */
  partial: string | null;
  /** What a reader should know of the walk (limits hit, glibc's counters that disagree with it). */
  notes: string[];
  elapsedMs: number;
}

export interface Diagnosis {
  /** The part (or the allocator's arenas) the finding is about. */
  cause: RssPartKind | 'arenas';
  /** Of the RSS. */
  share: number;
  summary: string;
  evidence: string[];
  remedies: string[];
}

export interface RssExplanation {
  tool: 'explain';
  pid: number;
  command: string;
  /** ISO time of the snapshot. */
  takenAt: string;
  /** The sum of the parts: the Rss of every mapping of /proc/PID/smaps. */
  rssBytes: number;
  /** The kernel's own total (VmRSS), read just before the mappings: the two differ by what moved in between. */
  kernelRssBytes: number;
  parts: RssPart[];
  /** The allocator's state, read from outside the process; null with `allocatorNote` saying why. */
  allocator: AllocatorState | null;
  allocatorNote: string | null;
  threads: { count: number; stacksFound: number };
  diagnosis: Diagnosis[];
  /** What the figures could not cover, never dropped silently. */
  notes: string[];
}

/** The order parts are listed in, whatever their size: the allocator's first, then the rest. */
export const PART_ORDER: readonly RssPartKind[] = [
  'malloc-live',
  'malloc-retained',
  'malloc-unsplit',
  'v8-heap',
  'v8-external',
  'pymalloc',
  'file',
  'stacks',
  'anon-other',
];

export const PART_LABELS: Readonly<Record<RssPartKind, string>> = {
  'malloc-live': 'malloc, live',
  'malloc-retained': 'malloc, retained (freed, kept by the allocator)',
  'malloc-unsplit': 'malloc heap (live and retained not told apart)',
  'v8-heap': "V8's heap",
  'v8-external': 'V8 external memory (ArrayBuffers, Buffers)',
  pymalloc: "CPython's pymalloc arenas",
  file: 'file-backed mappings',
  stacks: 'thread stacks',
  'anon-other': 'other anonymous memory',
};
