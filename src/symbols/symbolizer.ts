// Turns the raw user-space addresses a tracer recorded into function names, using the process's
// memory maps (MappingHistory) and the ELF symbol tables of the mapped files.
//
// For each address:
//   runtime address ─(mapping: address - start + offset)→ file offset
//                   ─(PT_LOAD segment holding that offset)→ ELF virtual address
//                   ─(binary search of the function table)→ name
// Going through the file offset makes one rule work for PIE executables, shared libraries and
// non-PIE executables alike, whatever base address the loader chose.
//
// Code a JIT generated lives in anonymous memory, with no file to read symbols from: when the
// process writes a perf map (perf-map.ts), addresses there are named from it instead, as JS (or
// Python) frames.
//
// Symbolization never throws for a missing or unreadable file: the address is shown as hex, the
// file and the reason are listed in `problems`, and the report says how many frames that cost.
import { basename } from 'node:path';
import { demangle } from './demangle.js';
import { readBuildId, readDebugFile, readMiniDebugInfo } from './debug-file.js';
import { EM_X86_64, readElf, type ElfFile, type ElfFunction } from './elf.js';
import { CALL_BYTES_BEFORE, endsWithCall } from './x86-call.js';
import { jitFrame, type JitFrameKind, type PerfMap } from './perf-map.js';

/** Names memtrace gives probe points in its private library copies (see elf-alias.ts). */
const ALIAS_PREFIX = 'memtrace_';
import type { Mapping, MappingHistory } from './proc-maps.js';

export interface ResolvedFrame {
  /**
   * Demangled function name. Without one: `module+0xVADDR` when the address lies in a mapped file
   * (VADDR as `addr2line -e FILE` takes it, the same in every run whatever ASLR chose) or in a
   * pseudo-file (`[vdso]+0x…`, the offset in it); `0x<hex>` of the address as recorded otherwise.
   */
  name: string;
  /** Basename of the (display) path of the mapping, or null when no mapping holds the address. */
  module: string | null;
  resolved: boolean;
  /** Set for frames named from a perf map: code a JIT generated. */
  kind?: JitFrameKind;
  /**
   * The address lies in code: an executable mapping (a file's text, or anonymous executable memory
   * a JIT writes) or a perf-map entry. False for data, heap, stacks and addresses outside every
   * mapping: a frame-pointer walk that reached one had left the code.
   */
  code: boolean;
  /**
   * For a return address in an x86-64 file: whether a call instruction ends right before it. A
   * word of garbage that lands in code usually fails this. Absent when not checked.
   */
  afterCall?: boolean;
  /** Where the address lies in its file, for symbolizers that run later (addr2line, go tool pprof). */
  place?: FilePlace;
}

/** An address's place in a mapped file: what pprof's Mapping and Location need. */
export interface FilePlace {
  /** The file's full (display) path. */
  path: string;
  /** The ELF virtual address of the recorded address (not of address - 1). */
  vaddr: bigint;
  /** The runtime mapping that held it: start, end (exclusive) and the file offset mapped at start. */
  start: bigint;
  end: bigint;
  offset: bigint;
  buildId: string | null;
}

export interface ResolveOptions {
  /**
   * The addresses are return addresses (every frame of a stack walk but the leaf): each points just
   * after its call instruction, which may be the first byte of the next function when the call was
   * the last instruction (a call to a noreturn function). Looking up `address - 1` finds the caller.
   */
  returnAddresses: boolean;
}

export interface SymbolizerOptions {
  /** Renames a module for display, e.g. memtrace's private copy of libc shown as the original path. */
  displayPath?: (path: string) => string;
  /** Turn C++ names into source form (default true). */
  demangle?: boolean;
  /** The c++filt program (tests point it at a missing file). */
  demangleCommand?: string;
  /** The target's perf map, naming the addresses of JIT code (anonymous memory). */
  perfMap?: PerfMap | null;
}

/** Why some addresses stayed hex; shown in the report header so a hex-heavy profile explains itself. */
export interface SymbolizerProblems {
  /** Files that could not be read as ELF, with the reason. */
  unreadableFiles: Map<string, string>;
  /** Addresses that fell in such a file, or in a mapping of a deleted file. */
  addressesInUnreadableFiles: number;
  /** Addresses outside every recorded mapping (the process mapped them after the last snapshot). */
  addressesOutsideMappings: number;
  /** Set when C++ names were left mangled because c++filt is missing or failed. */
  demanglerMissing: boolean;
  /** Addresses in anonymous executable memory (JIT code) that no perf-map entry covers. */
  jitAddressesUnnamed: number;
}

type Loaded = { elf: ElfFile } | { error: string };

export class Symbolizer {
  readonly problems: SymbolizerProblems = {
    unreadableFiles: new Map(),
    addressesInUnreadableFiles: 0,
    addressesOutsideMappings: 0,
    demanglerMissing: false,
    jitAddressesUnnamed: 0,
  };
  // One parse per path for the symbolizer's lifetime: node's binary takes ~0.6 s to read.
  readonly #files = new Map<string, Promise<Loaded>>();
  readonly #debugFiles = new Map<string, Promise<ElfFile | null>>();
  readonly #buildIds = new Map<string, Promise<string | null>>();
  readonly #history: MappingHistory;
  readonly #options: SymbolizerOptions;

  constructor(history: MappingHistory, options: SymbolizerOptions = {}) {
    this.#history = history;
    this.#options = options;
  }

  async resolve(addresses: readonly bigint[], options: ResolveOptions): Promise<Map<bigint, ResolvedFrame>> {
    const frames = new Map<bigint, ResolvedFrame>();
    for (const address of new Set(addresses)) frames.set(address, await this.#resolveOne(address, options.returnAddresses));
    if (this.#options.demangle !== false) await this.#demangleNames(frames);
    return frames;
  }

  async #resolveOne(address: bigint, returnAddress: boolean): Promise<ResolvedFrame> {
    const lookup = returnAddress && address > 0n ? address - 1n : address;
    const hex = `0x${address.toString(16)}`;
    const mapping = this.#history.find(lookup);
    if (!mapping || isAnonymous(mapping)) {
      // JIT code: anonymous memory, or memory mapped after the last snapshot of the maps (V8 grows
      // its code space as it compiles); its perf map, when there is one, names it.
      const jit = this.#options.perfMap?.find(lookup);
      if (jit !== undefined) return { ...jitFrame(jit.name), module: null, resolved: true, code: true };
      if (!mapping) {
        this.problems.addressesOutsideMappings++;
        return { name: hex, module: null, resolved: false, code: false };
      }
      if (mapping.perms[2] === 'x') this.problems.jitAddressesUnnamed++;
    }
    const module = this.#moduleName(mapping);
    const code = mapping.perms[2] === 'x';
    // Anonymous memory (JIT code) has no file; pseudo-files ([vdso], [heap]) are named by the offset in them.
    if (!mapping.path.startsWith('/')) {
      return {
        name: module === null ? hex : `${module}+0x${(address - mapping.start + mapping.offset).toString(16)}`,
        module,
        resolved: false,
        code,
      };
    }
    if (mapping.deleted) {
      // The path now names another file, or nothing: its symbols would be wrong, not just missing.
      this.#noteUnreadable(mapping.path, 'the mapped file was deleted or replaced while the process ran');
      return { name: hex, module, resolved: false, code };
    }
    const loaded = await this.#load(mapping.path);
    if ('error' in loaded) {
      this.#noteUnreadable(mapping.path, loaded.error);
      return { name: hex, module, resolved: false, code };
    }
    const elf = loaded.elf;
    const vaddr = elf.fileOffsetToVaddr(lookup - mapping.start + mapping.offset);
    let found = vaddr === undefined ? undefined : findFunctionAt(elf, vaddr);
    if (vaddr !== undefined && (found === undefined || found.name.startsWith(ALIAS_PREFIX))) {
      // Not in the file's own tables (a stripped library's local function), or only one of memtrace's
      // aliases in its private libc copy: the installed debug file, if any, has the real name.
      const debug = await this.#loadDebug(mapping.path, elf);
      found = (debug === null ? undefined : findFunctionAt(debug, vaddr)) ?? found;
    }
    const frame: ResolvedFrame = found ? { name: found.name, module, resolved: true, code } : { name: hex, module, resolved: false, code };
    if (vaddr === undefined) return frame;
    const recordedVaddr = vaddr + (address - lookup);
    if (!found) frame.name = `${module}+0x${recordedVaddr.toString(16)}`;
    frame.place = {
      path: this.#displayPath(mapping.path),
      vaddr: recordedVaddr,
      start: mapping.start,
      end: mapping.end,
      offset: mapping.offset,
      buildId: await this.#buildId(mapping.path, elf),
    };
    if (returnAddress && code && elf.machine === EM_X86_64) frame.afterCall = await followsCall(elf, recordedVaddr);
    return frame;
  }

  #moduleName(mapping: Mapping): string | null {
    if (mapping.path === '') return null;
    const shown = this.#displayPath(mapping.path);
    return shown.startsWith('/') ? basename(shown) : shown;
  }

  #displayPath(path: string): string {
    return this.#options.displayPath ? this.#options.displayPath(path) : path;
  }

  #buildId(path: string, elf: ElfFile): Promise<string | null> {
    let reading = this.#buildIds.get(path);
    if (!reading) {
      reading = readBuildId(elf).catch(() => null);
      this.#buildIds.set(path, reading);
    }
    return reading;
  }

  #noteUnreadable(path: string, reason: string): void {
    this.problems.addressesInUnreadableFiles++;
    if (!this.problems.unreadableFiles.has(path)) this.problems.unreadableFiles.set(path, reason);
  }

  #loadDebug(path: string, elf: ElfFile): Promise<ElfFile | null> {
    let loading = this.#debugFiles.get(path);
    if (!loading) {
      // The installed debug file first (it has every symbol), else the file's own MiniDebugInfo.
      loading = readDebugFile(elf).then((debug) => debug ?? readMiniDebugInfo(elf));
      this.#debugFiles.set(path, loading);
    }
    return loading;
  }

  #load(path: string): Promise<Loaded> {
    let loading = this.#files.get(path);
    if (!loading) {
      loading = readElf(path).then(
        (elf): Loaded => ({ elf }),
        (error: unknown): Loaded => ({ error: error instanceof Error ? error.message : String(error) }),
      );
      this.#files.set(path, loading);
    }
    return loading;
  }

  async #demangleNames(frames: Map<bigint, ResolvedFrame>): Promise<void> {
    const names = [...frames.values()].filter((f) => f.resolved && f.kind === undefined).map((f) => f.name);
    const options = this.#options.demangleCommand === undefined ? {} : { command: this.#options.demangleCommand };
    const demangled = await demangle(names, options);
    if (demangled.demanglerMissing) this.problems.demanglerMissing = true;
    for (const frame of frames.values())
      if (frame.resolved && frame.kind === undefined) frame.name = demangled.get(frame.name) ?? frame.name;
  }
}

/**
 * Whether a call instruction ends at `vaddr` in the file. Bytes that cannot be read (the address is
 * at the very start of a segment) prove nothing: the frame is given the benefit of the doubt.
 */
async function followsCall(elf: ElfFile, vaddr: bigint): Promise<boolean> {
  const before = await elf.readAtVaddr(vaddr - BigInt(CALL_BYTES_BEFORE), CALL_BYTES_BEFORE).catch(() => null);
  return before === null ? true : endsWithCall(before);
}

/** Memory no file backs: where a JIT puts its code. `[anon:name]` is a named anonymous mapping. */
function isAnonymous(mapping: Mapping): boolean {
  return mapping.path === '' || mapping.path.startsWith('[anon');
}

/**
 * The function containing an ELF virtual address: the last function starting at or before it,
 * if the address is within its size. A symbol without a size (hand-written assembly) is taken to
 * extend to the next symbol, but never past the end of its own section.
 */
export function findFunctionAt(elf: ElfFile, vaddr: bigint): ElfFunction | undefined {
  const functions = elf.functions;
  let low = 0;
  let high = functions.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (functions[middle]!.address <= vaddr) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  if (found < 0) return undefined;
  const candidate = functions[found]!;
  if (candidate.size > 0n) return vaddr < candidate.address + candidate.size ? candidate : undefined;
  const section = elf.sections[candidate.sectionIndex];
  if (!section) return undefined;
  return vaddr >= section.addr && vaddr < section.addr + section.size ? candidate : undefined;
}
