// The probe spec of the external tool: Node's ArrayBuffer allocator, the memory behind every
// ArrayBuffer, Buffer and typed array too large for the V8 heap ("external" in
// process.memoryUsage(), invisible in heap snapshots). One spec renders a bpftrace program
// (render-external-bpf.ts); every value in it has been validated by buildExternalSpec.
//
// The probe points, measured on node 20 (docs/tools/external.md):
//   node::NodeArrayBufferAllocator::Allocate(size_t)               (this, size) → pointer, zero-filled
//   node::NodeArrayBufferAllocator::AllocateUninitialized(size_t)  (this, size) → pointer
//   v8::(anonymous namespace)::ArrayBufferAllocator::Free(void*, size_t)   (this, pointer, length)
// The frees are not probed at node::NodeArrayBufferAllocator::Free: its first instruction is
// `lock sub` (it takes the freed length off its counter), which uprobes refuse (attach fails with
// error 524). That function ends in a tail jump to the Free of the allocator it wraps, V8's default
// one, whose first instruction is a plain `mov`: every backing store Node frees passes there. So may
// a block of another V8 default allocator in the process, but only blocks the Allocate probes saw
// are matched; the others count as frees of blocks allocated before the trace.
import { UsageError } from '../errors.js';
import { MAX_STACK_DEPTH, validateTimeline, type SmallMapDeclarations, type StackMode } from './malloc-spec.js';

/**
 * Deeper than malloc's 24: between the allocator and the JS function that made a Buffer lie some
 * 14 frames of V8 and Node (BackingStore::Allocate … Builtins_InterpreterEntryTrampoline), and
 * backing stores are few enough that the longer walk costs little.
 */
export const DEFAULT_EXTERNAL_STACK_DEPTH = 48;
import { validateInteger, validatePid, validateProbePath, validateSymbol } from './validate.js';

/** The functions, by demangled name; memtrace looks each up in the node binary. */
export const EXTERNAL_FUNCTIONS = [
  { name: 'Allocate', role: 'allocate', demangled: 'node::NodeArrayBufferAllocator::Allocate(unsigned long)' },
  { name: 'AllocateUninitialized', role: 'allocate', demangled: 'node::NodeArrayBufferAllocator::AllocateUninitialized(unsigned long)' },
  { name: 'Free', role: 'free', demangled: 'v8::(anonymous namespace)::ArrayBufferAllocator::Free(void*, unsigned long)' },
] as const;

export type ExternalFunctionName = (typeof EXTERNAL_FUNCTIONS)[number]['name'];

export interface ExternalProbe {
  /** 1-based; identifies the function in the per-thread in-flight state. */
  id: number;
  name: ExternalFunctionName;
  role: 'allocate' | 'free';
  /** The mangled symbol the probe is placed on. */
  symbol: string;
}

export interface ExternalSpec extends SmallMapDeclarations {
  /** The node executable, an absolute path. */
  binary: string;
  /** Process to trace; null renders `$1` (a standalone script's first positional parameter). */
  pid: number | null;
  functions: ExternalProbe[];
  stackMode: StackMode;
  stackDepth: number;
  durationMs: number | null;
  /** --timeline: every stack's bytes allocated and freed so far, every so many milliseconds. */
  timelineIntervalMs: number | null;
  /** libc's exit(), where a launched target stops itself until memtrace has read its maps (--unsafe). */
  holdAtExit: { library: string; symbol: string } | null;
}

export interface ExternalSpecOptions extends Partial<SmallMapDeclarations> {
  binary: string;
  pid: number | null;
  /** Mangled symbol of each function, as found in the binary. */
  symbols: ReadonlyMap<ExternalFunctionName, string>;
  stackMode?: ExternalSpec['stackMode'];
  stackDepth?: number;
  durationMs?: number | null;
  timelineIntervalMs?: number | null;
  holdAtExit?: { library: string; symbol: string } | null;
}

export function buildExternalSpec(options: ExternalSpecOptions): ExternalSpec {
  const binary = validateProbePath('node binary', options.binary);
  const functions = EXTERNAL_FUNCTIONS.map(({ name, role, demangled }, index) => {
    const symbol = options.symbols.get(name);
    if (symbol === undefined) throw new UsageError(`${binary}: no symbol for ${demangled}`);
    return { id: index + 1, name, role, symbol: validateSymbol(`symbol of ${demangled}`, symbol) };
  });
  const hold = options.holdAtExit ?? null;
  const stackMode = options.stackMode ?? 'ustack';
  return {
    binary,
    pid: options.pid === null ? null : validatePid(options.pid),
    functions,
    stackMode,
    stackDepth: validateInteger('--stack-depth', options.stackDepth ?? DEFAULT_EXTERNAL_STACK_DEPTH, 1, MAX_STACK_DEPTH),
    timelineIntervalMs: validateTimeline(options.timelineIntervalMs ?? null, stackMode),
    durationMs: options.durationMs == null ? null : validateInteger('--duration', options.durationMs, 1, 31 * 86_400_000),
    holdAtExit:
      hold === null ? null : { library: validateProbePath('exit hold', hold.library), symbol: validateSymbol('exit hold', hold.symbol) },
    declareSmallMaps: options.declareSmallMaps ?? false,
  };
}
