// Finds where a node binary's garbage collections can be probed: V8's
// `v8::internal::Heap::PerformGarbageCollection(…)`, looked up by its demangled name (its mangled
// spelling changes with its parameter list from one V8 version to the next), or Node's
// gc__start/gc__done USDT probes. Stock Node 20 binaries have the symbol in .symtab and, exported for
// native addons, in .dynsym (so a stripped node keeps it); they have no USDT notes. Binaries built
// --with-dtrace (Node ≤ 18) have the probes.
import { demangle } from './demangle.js';
import type { ElfFile } from './elf.js';
import { readUsdtProbes, type UsdtProbe } from './usdt-notes.js';

/** What memtrace looks for, in words for messages and docs. */
export const V8_GC_FUNCTION = 'v8::internal::Heap::PerformGarbageCollection';
/** The substring every mangled spelling of it holds (the Itanium ABI writes names as <length><name>). */
const MANGLED_FRAGMENT = '24PerformGarbageCollection';

export interface V8GcSymbol {
  /** The mangled name, as the probe specifier needs it. */
  symbol: string;
  demangled: string;
  address: bigint;
}

export type GcProbePoint = ({ kind: 'symbol' } & V8GcSymbol) | { kind: 'usdt'; probes: UsdtProbe[] };

/**
 * The function's symbol in `elf`, or null when the binary has none (not node, or a V8 that renamed
 * it). Only the few names holding the fragment are demangled, not the binary's 100,000 symbols.
 */
export async function findV8GcSymbol(elf: ElfFile, options: { demangler?: string } = {}): Promise<V8GcSymbol | null> {
  const candidates = elf.functions.filter((fn) => fn.name.startsWith('_Z') && fn.name.includes(MANGLED_FRAGMENT));
  if (candidates.length === 0) return null;
  const names = await demangle(
    candidates.map((fn) => fn.name),
    options.demangler === undefined ? {} : { command: options.demangler },
  );
  for (const fn of candidates) {
    const demangled = names.get(fn.name) ?? fn.name;
    if (demangled.startsWith(`${V8_GC_FUNCTION}(`)) return { symbol: fn.name, demangled, address: fn.address };
  }
  if (names.demanglerMissing) {
    // Without c++filt, the prefix of the mangled name itself says namespace, class and function.
    const fn = candidates.find((candidate) => candidate.name.startsWith('_ZN2v88internal4Heap24PerformGarbageCollectionE'));
    if (fn !== undefined)
      return { symbol: fn.name, demangled: `${V8_GC_FUNCTION}(…) (not demangled: ${names.problem})`, address: fn.address };
  }
  return null;
}

/**
 * Node's gc__start and gc__done probes, when the binary has both. Read leniently: a damaged note
 * table leaves V8's symbol to probe.
 */
export async function findNodeGcUsdt(elf: ElfFile): Promise<UsdtProbe[] | null> {
  const probes = (await readUsdtProbes(elf, { lenient: true })).filter(
    (probe) => probe.provider === 'node' && (probe.name === 'gc__start' || probe.name === 'gc__done'),
  );
  const names = new Set(probes.map((probe) => probe.name));
  return names.has('gc__start') && names.has('gc__done') ? probes : null;
}

/**
 * Where to probe: for a running process Node's USDT probes first (made for this), else the V8
 * symbol; for a command memtrace launches the symbol first, because bpftrace 0.17 resolves USDT
 * probes through the traced PID's memory maps, and a held command is still memtrace's shell shim
 * when bpftrace attaches. Null when the binary has neither.
 */
export async function findGcProbePoint(
  elf: ElfFile,
  options: { demangler?: string; preferSymbol?: boolean } = {},
): Promise<GcProbePoint | null> {
  const usdt = await findNodeGcUsdt(elf);
  if (usdt !== null && options.preferSymbol !== true) return { kind: 'usdt', probes: usdt };
  const symbol = await findV8GcSymbol(elf, options);
  if (symbol !== null) return { kind: 'symbol', ...symbol };
  return usdt === null ? null : { kind: 'usdt', probes: usdt };
}
