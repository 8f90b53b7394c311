// The probe spec of the malloc tool: which allocator functions to probe, where, and what to keep.
// One spec renders a bpftrace script (render-malloc-bpf.ts); every value in it has been validated
// by buildMallocSpec, so the renderer only assembles trusted pieces.
import { UsageError } from '../errors.js';
import { validateInteger, validatePid, validateProbePath, validateSymbol, validateSymbolPrefix } from './validate.js';

/** How a function's arguments and return value translate into allocations and frees. */
export type AllocatorRole =
  | 'malloc' // (size) → pointer
  | 'calloc' // (count, size) → pointer
  | 'realloc' // (pointer, size) → pointer
  | 'reallocarray' // (pointer, count, size) → pointer
  | 'memalign' // (alignment, size) → pointer
  | 'posix_memalign' // (void **out, alignment, size) → 0 or an error number
  | 'free' // (pointer)
  | 'mmap' // (addr, length, …) → pointer or MAP_FAILED
  | 'munmap'; // (addr, length)

export interface ProbedFunction {
  /** 1-based; identifies the function in the per-thread in-flight state. */
  id: number;
  /** Name shown in reports; functions sharing one address are shown joined (`aligned_alloc/memalign`). */
  name: string;
  /** Symbol the probe is placed on. */
  symbol: string;
  role: AllocatorRole;
}

/**
 * How glibc's free is probed. At its entry the first instruction (`test %rdi,%rdi`) is single-stepped
 * (~12 µs a call here); just past the NULL test sits an instruction the kernel emulates. A bpftrace
 * with offset uprobes probes there directly (`free+9`, and the NULL case's `ret` at its own offset);
 * for 0.17 memtrace adds symbols at those places to a private copy of the library (src/symbols/elf-alias.ts).
 */
export type FreeProbe =
  | { mode: 'entry' }
  | { mode: 'body'; bodySymbol: string; nullSymbol: string | null }
  | { mode: 'offset'; bodyOffset: number; nullOffset: number | null };

/** Whether the probes see free(NULL): at the entry always; past the NULL test only with a probe on its return. */
export function seesFreeNull(free: FreeProbe): boolean {
  return free.mode === 'entry' || (free.mode === 'body' ? free.nullSymbol !== null : free.nullOffset !== null);
}

/** The largest offset into free memory will probe: the NULL test and its return sit in the first bytes. */
export const MAX_FREE_OFFSET = 4096;

/**
 * How a program takes user stacks:
 * `ustack`: bpftrace's own symbolized stacks (for scripts run by hand);
 * `frames`: raw return addresses walked along frame pointers, symbolized later by memtrace, which
 *   avoids bpftrace's symbolization (absent under -c, minutes long on a large binary);
 * `dwarf`: raw return addresses unwound with the binaries' DWARF call-frame information by
 *   `dw_ustack(raw)` (bpftrace 0.26 and later), through code built without frame pointers; also
 *   symbolized by memtrace.
 */
export type StackMode = 'ustack' | 'frames' | 'dwarf';

/**
 * Whether a program declares the capacity of its small per-CPU maps (programConfig in
 * render-malloc-bpf.ts): where the bpftrace takes map declarations (0.27 here; features.mapDeclarations).
 */
export interface SmallMapDeclarations {
  declareSmallMaps: boolean;
}

export interface MallocSpec extends SmallMapDeclarations {
  /** Absolute path of the library (or executable) whose allocator is probed, or a bare name such as `libc`. */
  library: string;
  /** Process to trace; null renders `$1` (the first positional parameter of a standalone script). */
  pid: number | null;
  functions: ProbedFunction[];
  free: FreeProbe;
  stackMode: StackMode;
  stackDepth: number;
  minSize: number | null;
  maxSize: number | null;
  sampleEvery: number;
  /** Print one record per call (the per-call log). */
  events: boolean;
  /** Print live counters every so many milliseconds, for the status line. */
  statusIntervalMs: number | null;
  /** End the trace after so many milliseconds, from inside the script (reliable even when signals are not). */
  durationMs: number | null;
  /** Print every stack's bytes allocated and freed so far every so many milliseconds (--timeline). */
  timelineIntervalMs: number | null;
  /**
   * Symbol of the library's exit(): the target stops itself there so that memtrace can read its memory
   * maps before it is gone (needs bpftrace --unsafe for signal()). Only for targets memtrace launched.
   */
  holdAtExitSymbol: string | null;
  /**
   * Count only from the target's exec on. A launched command's PID first runs memtrace's holding
   * shell (src/run/target.ts), whose own allocations would be counted when the probes sit in a
   * library the shell uses too (the shared libc, rather than memtrace's private copy).
   */
  fromExec: boolean;
}

/** The shortest --timeline interval: each snapshot prints every stack's two sums. */
export const MIN_TIMELINE_MS = 100;

/** A --timeline interval (malloc's and external's programs), or null for none. */
export function validateTimeline(intervalMs: number | null, stackMode: StackMode): number | null {
  if (intervalMs === null) return null;
  // The stack of a freed block would be bpftrace's ustack key, symbolized anew at every snapshot.
  if (stackMode === 'ustack')
    throw new UsageError('--timeline needs stacks walked by memtrace or unwound with DWARF, not bpftrace ustack keys');
  return validateInteger('--timeline', intervalMs, MIN_TIMELINE_MS, 3_600_000);
}

export const MAX_STACK_DEPTH = 64;
export const DEFAULT_STACK_DEPTH = 24;

/** The standard allocator API, as glibc, jemalloc, tcmalloc and mimalloc all export it. */
export const ALLOCATOR_FUNCTIONS: ReadonlyArray<{ name: string; role: AllocatorRole }> = [
  { name: 'malloc', role: 'malloc' },
  { name: 'calloc', role: 'calloc' },
  { name: 'realloc', role: 'realloc' },
  { name: 'reallocarray', role: 'reallocarray' },
  { name: 'posix_memalign', role: 'posix_memalign' },
  { name: 'aligned_alloc', role: 'memalign' },
  { name: 'memalign', role: 'memalign' },
  { name: 'valloc', role: 'malloc' },
  { name: 'pvalloc', role: 'malloc' },
  { name: 'free', role: 'free' },
];

export const MMAP_FUNCTIONS: ReadonlyArray<{ name: string; role: AllocatorRole }> = [
  { name: 'mmap', role: 'mmap' },
  { name: 'munmap', role: 'munmap' },
];

export interface MallocSpecOptions extends Partial<SmallMapDeclarations> {
  library: string;
  pid: number | null;
  /** Symbol prefix (`je_` for a prefixed jemalloc build). */
  prefix?: string;
  mmap?: boolean;
  /**
   * Address of each candidate symbol in the library, when known: symbols absent from the library are
   * not probed, and symbols sharing an address are probed once (otherwise each call would count twice).
   */
  symbolAddresses?: ReadonlyMap<string, bigint>;
  free?: FreeProbe;
  stackMode?: MallocSpec['stackMode'];
  stackDepth?: number;
  minSize?: number | null;
  maxSize?: number | null;
  sampleEvery?: number;
  events?: boolean;
  statusIntervalMs?: number | null;
  durationMs?: number | null;
  timelineIntervalMs?: number | null;
  holdAtExitSymbol?: string | null;
  fromExec?: boolean;
}

export function buildMallocSpec(options: MallocSpecOptions): MallocSpec {
  const library = options.library.startsWith('/') ? validateProbePath('--lib', options.library) : validateLibraryName(options.library);
  const prefix = validateSymbolPrefix('--prefix', options.prefix ?? '');
  const candidates = [...ALLOCATOR_FUNCTIONS, ...(options.mmap ? MMAP_FUNCTIONS : [])];
  const functions = dedupeByAddress(
    candidates.map(({ name, role }) => ({ name, role, symbol: validateSymbol('--prefix', `${prefix}${name}`) })),
    options.symbolAddresses,
  );
  if (!functions.some((fn) => fn.role !== 'free' && fn.role !== 'munmap')) {
    throw new UsageError(`${library}: defines none of the allocator functions (${candidates.map((c) => prefix + c.name).join(', ')})`);
  }
  const free = options.free ?? { mode: 'entry' };
  if (free.mode === 'body') {
    validateSymbol('free probe', free.bodySymbol);
    if (free.nullSymbol !== null) validateSymbol('free probe', free.nullSymbol);
  } else if (free.mode === 'offset') {
    validateInteger('free probe offset', free.bodyOffset, 1, MAX_FREE_OFFSET);
    if (free.nullOffset !== null) validateInteger('free probe offset', free.nullOffset, 1, MAX_FREE_OFFSET);
  }
  const minSize = options.minSize ?? null;
  const maxSize = options.maxSize ?? null;
  if (minSize !== null && maxSize !== null && minSize > maxSize) {
    throw new UsageError(`--min-size (${minSize}) is larger than --max-size (${maxSize})`);
  }
  const stackMode = options.stackMode ?? 'ustack';
  return {
    library,
    pid: options.pid === null ? null : validatePid(options.pid),
    functions: functions.map((fn, index) => ({ ...fn, id: index + 1 })),
    free,
    stackMode,
    stackDepth: validateInteger('--stack-depth', options.stackDepth ?? DEFAULT_STACK_DEPTH, 1, MAX_STACK_DEPTH),
    minSize: minSize === null ? null : validateInteger('--min-size', minSize, 0, Number.MAX_SAFE_INTEGER),
    maxSize: maxSize === null ? null : validateInteger('--max-size', maxSize, 0, Number.MAX_SAFE_INTEGER),
    sampleEvery: validateInteger('--sample', options.sampleEvery ?? 1, 1, 1_000_000_000),
    events: options.events ?? false,
    statusIntervalMs: options.statusIntervalMs == null ? null : validateInteger('--interval', options.statusIntervalMs, 10, 86_400_000),
    durationMs: options.durationMs == null ? null : validateInteger('--duration', options.durationMs, 1, 31 * 86_400_000),
    timelineIntervalMs: validateTimeline(options.timelineIntervalMs ?? null, stackMode),
    holdAtExitSymbol: options.holdAtExitSymbol == null ? null : validateSymbol('exit hold', options.holdAtExitSymbol),
    fromExec: options.fromExec ?? false,
    declareSmallMaps: options.declareSmallMaps ?? false,
  };
}

/** A library name bpftrace resolves itself (`libc`, `libjemalloc.so.2`), for standalone scripts. */
function validateLibraryName(value: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/.test(value)) {
    throw new UsageError(`--lib: expected an absolute path or a library name such as libc, got ${JSON.stringify(value)}`);
  }
  return value;
}

function dedupeByAddress(
  functions: Array<{ name: string; role: AllocatorRole; symbol: string }>,
  addresses: ReadonlyMap<string, bigint> | undefined,
): Array<{ name: string; role: AllocatorRole; symbol: string }> {
  if (addresses === undefined) return functions;
  const byAddress = new Map<bigint, { name: string; role: AllocatorRole; symbol: string }>();
  for (const fn of functions) {
    const address = addresses.get(fn.symbol);
    if (address === undefined) continue;
    const existing = byAddress.get(address);
    if (existing === undefined) {
      byAddress.set(address, { ...fn });
    } else {
      // Aliases of one function (glibc's aligned_alloc and memalign) share a role; show both names.
      existing.name = [existing.name, fn.name].sort().join('/');
    }
  }
  return [...byAddress.values()];
}

/**
 * The argument expression of a function's requested size; the same text in bpftrace and D, whose
 * probes both name the arguments arg0, arg1, ….
 */
export function sizeExpression(fn: ProbedFunction): string {
  switch (fn.role) {
    case 'calloc':
      return 'arg0 * arg1';
    case 'realloc':
    case 'memalign':
    case 'mmap':
      return 'arg1';
    case 'reallocarray':
      return 'arg1 * arg2';
    case 'posix_memalign':
      return 'arg2';
    default:
      return 'arg0';
  }
}

/** The --min-size/--max-size test of a size expression, or null when the spec sets neither. */
export function sizeCondition(spec: MallocSpec, size: string): string | null {
  const parts: string[] = [];
  if (spec.minSize !== null) parts.push(`${size} >= ${spec.minSize}`);
  if (spec.maxSize !== null) parts.push(`${size} <= ${spec.maxSize}`);
  return parts.length === 0 ? null : parts.join(' && ');
}
