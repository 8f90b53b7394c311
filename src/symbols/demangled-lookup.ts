// Finds functions of an ELF file by their demangled C++ name, the name a person reads in source:
// a mangled spelling differs between compilers and ABI tags, and an address between builds, but
// `node::NodeArrayBufferAllocator::Allocate(unsigned long)` is the same in every node that has it.
//
// node's symbol table holds ~150,000 functions; demangling all of them takes c++filt seconds. Only
// the mangled names that contain one of the given identifiers are demangled (`ArrayBufferAllocator`:
// an Itanium mangling writes every identifier out whole, so the prefilter loses no match).
import { demangle } from './demangle.js';
import type { ElfFile, ElfFunction } from './elf.js';

export interface DemangledMatch {
  /** The mangled symbol, as a probe names it. */
  symbol: string;
  function: ElfFunction;
}

/**
 * The function of each wanted demangled name, keyed by that name; a name the file lacks is absent.
 * `identifiers`: identifiers one of which every wanted mangled name contains (a cheap prefilter).
 */
export async function findByDemangledName(
  elf: ElfFile,
  wanted: readonly string[],
  identifiers: readonly string[],
  options: { demangleCommand?: string } = {},
): Promise<{ found: Map<string, DemangledMatch>; demanglerMissing: boolean }> {
  const candidates = elf.functions.filter(
    (fn) => fn.name.startsWith('_Z') && identifiers.some((identifier) => fn.name.includes(identifier)),
  );
  const names = await demangle(
    candidates.map((fn) => fn.name),
    options.demangleCommand === undefined ? {} : { command: options.demangleCommand },
  );
  const wantedSet = new Set(wanted);
  const found = new Map<string, DemangledMatch>();
  for (const fn of candidates) {
    const demangled = names.get(fn.name);
    if (demangled !== undefined && wantedSet.has(demangled) && !found.has(demangled))
      found.set(demangled, { symbol: fn.name, function: fn });
  }
  return { found, demanglerMissing: names.demanglerMissing };
}
