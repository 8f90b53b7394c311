// The probe spec of the faults tool: which process, how its stacks are taken, and when the trace
// ends. One spec renders a bpftrace program (render-faults-bpf.ts); every value in it has been
// validated by buildFaultsSpec, so the renderer only assembles trusted pieces.
import { UsageError } from '../errors.js';
import { validateInteger, validatePid, validateProbePath, validateSymbol } from './validate.js';
import { DEFAULT_STACK_DEPTH, MAX_STACK_DEPTH, type SmallMapDeclarations } from './malloc-spec.js';

export interface FaultsSpec extends SmallMapDeclarations {
  /** Process (thread group) to trace; null renders `$1` (the first positional parameter of a standalone script). */
  pid: number | null;
  /** Frames per stack, leaf included. */
  stackDepth: number;
  /** Walked along frame pointers by the program, or unwound with DWARF by bpftrace (dw_ustack). */
  stackMode: 'frames' | 'dwarf';
  /** Bytes one fault on a not-present page makes resident (the page size). */
  pageSize: number;
  /**
   * Offset of the user registers (struct pt_regs) below the top of the task's kernel stack: the
   * tracepoints carry no registers, so the stack walk starts from the registers the kernel saved on
   * entry. THREAD_SIZE on x86-64 (16 KiB; 32 KiB with KASAN).
   */
  kernelStackSize: number;
  /** End the trace after so many milliseconds, from inside the script. */
  durationMs: number | null;
  /**
   * The C library's exit(), where a launched target stops itself so that memtrace can read its memory
   * maps before it is gone (needs bpftrace --unsafe for signal()). Only for targets memtrace launched.
   */
  holdAtExit: { library: string; symbol: string } | null;
}

export interface FaultsSpecOptions extends Partial<SmallMapDeclarations> {
  pid: number | null;
  stackDepth?: number;
  stackMode?: FaultsSpec['stackMode'];
  pageSize?: number;
  kernelStackSize?: number;
  durationMs?: number | null;
  holdAtExit?: { library: string; symbol: string } | null;
}

export const DEFAULT_PAGE_SIZE = 4096;
export const DEFAULT_KERNEL_STACK_SIZE = 16_384;

export function buildFaultsSpec(options: FaultsSpecOptions): FaultsSpec {
  const pageSize = validateInteger('page size', options.pageSize ?? DEFAULT_PAGE_SIZE, 4096, 1_048_576);
  if ((pageSize & (pageSize - 1)) !== 0) throw new UsageError(`page size: expected a power of two, got ${pageSize}`);
  const kernelStackSize = validateInteger('kernel stack size', options.kernelStackSize ?? DEFAULT_KERNEL_STACK_SIZE, 8192, 65_536);
  if ((kernelStackSize & (kernelStackSize - 1)) !== 0)
    throw new UsageError(`kernel stack size: expected a power of two, got ${kernelStackSize}`);
  const hold = options.holdAtExit ?? null;
  return {
    pid: options.pid === null ? null : validatePid(options.pid),
    stackDepth: validateInteger('--stack-depth', options.stackDepth ?? DEFAULT_STACK_DEPTH, 2, MAX_STACK_DEPTH),
    stackMode: options.stackMode ?? 'frames',
    pageSize,
    kernelStackSize,
    durationMs: options.durationMs == null ? null : validateInteger('--duration', options.durationMs, 1, 31 * 86_400_000),
    holdAtExit:
      hold === null ? null : { library: validateProbePath('exit hold', hold.library), symbol: validateSymbol('exit hold', hold.symbol) },
    declareSmallMaps: options.declareSmallMaps ?? false,
  };
}
