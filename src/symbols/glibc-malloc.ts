// Finds glibc malloc's own state in a running process: the runtime addresses of `main_arena` (the
// first arena, whose `next` pointers lead to all the others) and `mp_` (malloc's parameters: the
// brk heap's base, the mmapped-chunk counters, the tcache limits), for sample/glibc-heap.ts to walk.
//
// Both are static variables of malloc.c: Debian's libc.so.6 keeps only .dynsym, so their names are
// only in the separate debug file (libc6-dbg), found by build-id. Their layout is not read from
// DWARF at run time: it is hard-coded in glibc-heap.ts for x86-64 glibc ≥ 2.26 (tcache), and the
// symbol sizes are the check that the layout fits: main_arena is 2200 bytes there (struct
// malloc_state), mp_ 136 bytes from 2.35 (hp_pagesize and hp_flags joined struct malloc_par).
// Checked against the 2.36 debug file: `gdb -batch -ex 'ptype /o struct malloc_state' libc.so.6`.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readBuildId, readDebugFile, DEBUG_ROOT } from './debug-file.js';
import { EM_X86_64, readElf, type ElfFile, type ElfObject } from './elf.js';
import { readProcMaps, type Mapping } from './proc-maps.js';

/** sizeof(struct malloc_state) on x86-64 glibc ≥ 2.26, the only layout glibc-heap.ts knows. */
export const MAIN_ARENA_SIZE = 2200n;
/** sizeof(struct malloc_par) on x86-64 glibc ≥ 2.35: the layout whose sbrk_base, n_mmaps, mmapped_mem and tcache_count glibc-heap.ts reads. */
export const MP_SIZE = 136n;

/** The layout glibc-heap.ts walks: x86-64, glibc ≥ 2.26 (malloc_state of 2200 bytes, with tcache). */
export type GlibcMallocLayout = 'glibc-2.26-x86_64';

export interface GlibcMalloc {
  ok: true;
  pid: number;
  /** The library's path as /proc/PID/maps names it (in the target's mount namespace). */
  libraryPath: string;
  /** The path it was read through from here: /proc/PID/root/… or /proc/PID/map_files/START-END. */
  openedPath: string;
  buildId: string;
  debugPath: string;
  /** "2.36", from the library's banner ("… release version 2.36.") or its file name (libc-2.31.so); null if neither says. */
  version: string | null;
  /** Runtime address minus ELF virtual address for this library. */
  loadBias: bigint;
  /** Runtime address of main_arena (struct malloc_state). */
  mainArena: bigint;
  /** Runtime address of mp_ (struct malloc_par) when it has the known 136-byte layout; null otherwise (see notes). */
  mp: bigint | null;
  layout: GlibcMallocLayout;
  notes: string[];
}

export type GlibcMallocProblem =
  /** No glibc mapped: a static binary, or another C library (musl). */
  | 'no-glibc'
  /** glibc is there but its debug file is not installed, so main_arena has no name. */
  | 'no-debug-file'
  /** The library is not x86-64. */
  | 'not-x86-64'
  /** main_arena is missing from the debug file, or is not 2200 bytes. */
  | 'unknown-layout'
  /** The library could not be opened or read. */
  | 'unreadable';

export interface GlibcMallocUnavailable {
  ok: false;
  problem: GlibcMallocProblem;
  /** What was found and what to do, as a sentence for the user. */
  message: string;
}

export interface LocateGlibcMallocOptions {
  /** Where debug files live (`.build-id/xx/yyyy.debug` below it); /usr/lib/debug by default. */
  debugRoot?: string;
  /** The process's maps, when the caller has read them already. */
  maps?: readonly Mapping[];
}

/**
 * Where glibc malloc keeps its state in process `pid`. A process that does not exist throws a
 * TargetError (from readProcMaps); every way the answer cannot be found is a GlibcMallocUnavailable.
 */
export async function locateGlibcMalloc(
  pid: number,
  options: LocateGlibcMallocOptions = {},
): Promise<GlibcMalloc | GlibcMallocUnavailable> {
  const maps = options.maps ?? (await readProcMaps(pid));
  const unavailable = (problem: GlibcMallocProblem, message: string): GlibcMallocUnavailable => ({ ok: false, problem, message });

  const libc = findGlibcMappings(maps);
  if (libc.length === 0) {
    const musl = maps.find((m) => /(^|\/)(ld-musl-[^/]*|libc\.musl-[^/]*)$/.test(m.path));
    return unavailable(
      'no-glibc',
      musl !== undefined
        ? `process ${pid} runs on musl (${musl.path}), not glibc: only glibc's malloc can be read`
        : `process ${pid} maps no glibc (libc.so.6): a static binary, or another C library, whose malloc cannot be read`,
    );
  }
  const opened = await openMappedLibrary(pid, libc);
  if (opened === null) {
    return unavailable(
      'unreadable',
      `cannot open ${libc[0]!.path} of process ${pid} (through /proc/${pid}/root or /proc/${pid}/map_files)`,
    );
  }
  const { elf, openedPath } = opened;
  if (elf.machine !== EM_X86_64) {
    return unavailable(
      'not-x86-64',
      `${libc[0]!.path} is for ELF machine ${elf.machine}, not x86-64 (62): only x86-64's malloc layout is known`,
    );
  }
  const buildId = await readBuildId(elf).catch(() => null);
  if (buildId === null) return unavailable('no-debug-file', `${libc[0]!.path} has no build-id, so its debug file cannot be found`);
  const debugRoot = options.debugRoot ?? DEBUG_ROOT;
  const debug = await readDebugFile(elf, debugRoot);
  const debugPath = `${debugRoot}/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
  if (debug === null) {
    return unavailable(
      'no-debug-file',
      `no debug file for ${libc[0]!.path} (build-id ${buildId}) at ${debugPath}: install libc6-dbg (Debian, Ubuntu) or glibc-debuginfo, whose symbols name main_arena`,
    );
  }

  const arena = await findOne(debug, 'main_arena');
  if (arena === null) return unavailable('unknown-layout', `${debug.path} has no single main_arena symbol`);
  if (arena.size !== MAIN_ARENA_SIZE) {
    return unavailable(
      'unknown-layout',
      `main_arena in ${debug.path} is ${arena.size} bytes, not the ${MAIN_ARENA_SIZE} of x86-64 glibc ≥ 2.26 (with tcache): its layout is unknown`,
    );
  }
  const loadBias = findLoadBias(elf, libc);
  if (loadBias === null) return unavailable('unreadable', `no mapping of ${libc[0]!.path} in process ${pid} matches its ELF segments`);

  const notes: string[] = [];
  const mpSymbol = await findOne(debug, 'mp_');
  let mp: bigint | null = null;
  if (mpSymbol === null)
    notes.push(`${debug.path} has no single mp_ symbol: the brk heap starts where [heap] does, and glibc's mmap counters are not read`);
  else if (mpSymbol.size !== MP_SIZE) {
    notes.push(
      `mp_ is ${mpSymbol.size} bytes, not the ${MP_SIZE} of glibc ≥ 2.35: its fields are not read (the brk heap starts where [heap] does)`,
    );
  } else mp = mpSymbol.address + loadBias;

  const mainArena = arena.address + loadBias;
  if (!maps.some((m) => m.start <= mainArena && mainArena + MAIN_ARENA_SIZE <= m.end && m.perms.startsWith('rw'))) {
    return unavailable(
      'unreadable',
      `main_arena at 0x${mainArena.toString(16)} is not in a writable mapping of process ${pid}: wrong library or load bias`,
    );
  }
  return {
    ok: true,
    pid,
    libraryPath: libc[0]!.path,
    openedPath,
    buildId,
    debugPath: debug.path,
    version: await readGlibcVersion(elf, libc[0]!.path),
    loadBias,
    mainArena,
    mp,
    layout: 'glibc-2.26-x86_64',
    notes,
  };
}

/** The mappings of glibc's libc (libc.so.6, or libc-2.NN.so before 2.34), the first library called so. */
export function findGlibcMappings(maps: readonly Mapping[]): Mapping[] {
  const first = maps.find((m) => !m.deleted && /^(libc\.so\.6|libc-2\.\d+\.so)$/.test(basename(m.path)));
  if (first === undefined) return [];
  return maps.filter((m) => m.path === first.path && m.inode === first.inode && m.dev === first.dev);
}

/**
 * The library the process mapped, read from here: through its root (its mount namespace) when that
 * file is still the mapped one (same inode), else through map_files, which always is.
 */
async function openMappedLibrary(pid: number, mappings: Mapping[]): Promise<{ elf: ElfFile; openedPath: string } | null> {
  const first = mappings[0]!;
  const candidates = [`/proc/${pid}/root${first.path}`, `/proc/${pid}/map_files/${first.start.toString(16)}-${first.end.toString(16)}`];
  for (const path of candidates) {
    try {
      if ((await stat(path)).ino !== first.inode) continue;
      return { elf: await readElf(path), openedPath: path };
    } catch {
      continue;
    }
  }
  return null;
}

/** The one object called `name`; null if there is none or several (static variables of different files). */
async function findOne(elf: ElfFile, name: string): Promise<ElfObject | null> {
  const found = await elf.findObjects(name).catch(() => []);
  return found.length === 1 ? found[0]! : null;
}

/** Runtime minus ELF address, from a mapping whose file offset lies in a PT_LOAD segment. */
function findLoadBias(elf: ElfFile, mappings: Mapping[]): bigint | null {
  for (const mapping of [...mappings].sort((a, b) => (a.offset < b.offset ? -1 : 1))) {
    const vaddr = elf.fileOffsetToVaddr(mapping.offset);
    if (vaddr !== undefined) return mapping.start - vaddr;
  }
  return null;
}

/**
 * glibc's version. libc.so.6 carries the banner it prints when run ("GNU C Library (Debian GLIBC
 * 2.36-9+deb12u14) stable release version 2.36."), in .rodata: the string gnu_get_libc_version()
 * returns ends it. Before 2.34 the file name said it too (libc-2.31.so).
 */
async function readGlibcVersion(elf: ElfFile, mappedPath: string): Promise<string | null> {
  const rodata = elf.sections.find((s) => s.name === '.rodata');
  if (rodata !== undefined && rodata.size > 0n && rodata.size < 64n * 1024n * 1024n) {
    const text = await elf
      .readAtVaddr(rodata.addr, Number(rodata.size))
      .then((bytes) => bytes.toString('latin1'))
      .catch(() => '');
    const banner = /GNU C Library [^\n\0]*release version (\d+\.\d+(?:\.\d+)?)/.exec(text);
    if (banner !== null) return banner[1]!;
  }
  return /^libc-(\d+\.\d+(?:\.\d+)?)\.so$/.exec(basename(mappedPath))?.[1] ?? null;
}
