// The probe spec of the gc tool: where a node binary's garbage collections are seen, and for how
// long. Two ways in: uprobes at the entry and return of V8's Heap::PerformGarbageCollection (in
// the .symtab of stock node binaries), or Node's own gc__start/gc__done USDT probes (binaries built
// --with-dtrace, Node ≤ 18). Every value is validated here; render-gc-bpf.ts assembles trusted pieces.
import { validateInteger, validatePid, validateProbePath, validateSymbol } from './validate.js';

export type GcProbe =
  /** Entry and return of the function; its arguments carry the collector and the reason. */
  | { kind: 'symbol'; symbol: string }
  /** Node's USDT probes: the v8::GCType bits, no reason. */
  | { kind: 'usdt' };

export interface GcSpec {
  /** Absolute path of the node binary (uprobes and USDT probes belong to a file). */
  binary: string;
  /** Process to trace; null renders `$1` (the first positional parameter of a standalone script). */
  pid: number | null;
  probe: GcProbe;
  /** End the trace after so many milliseconds, from inside the script. */
  durationMs: number | null;
  /** Page size of the machine: the kernel counts RSS in pages. */
  pageSize: number;
}

export interface GcSpecOptions {
  binary: string;
  pid: number | null;
  probe: GcProbe;
  durationMs?: number | null;
  pageSize?: number;
}

export function buildGcSpec(options: GcSpecOptions): GcSpec {
  return {
    binary: validateProbePath('node binary', options.binary),
    pid: options.pid === null ? null : validatePid(options.pid),
    // A mangled C++ name (_ZN2v88internal4Heap24PerformGarbageCollection…) is letters, digits and _:
    // the symbol grammar takes it whole, and refuses anything that could leave the probe specifier.
    probe:
      options.probe.kind === 'symbol' ? { kind: 'symbol', symbol: validateSymbol('gc symbol', options.probe.symbol) } : { kind: 'usdt' },
    durationMs: options.durationMs == null ? null : validateInteger('--duration', options.durationMs, 1, 31 * 86_400_000),
    pageSize: validateInteger('page size', options.pageSize ?? 4096, 1024, 1_048_576),
  };
}
