// Where a frame-pointer walk lost the stack, and what the report says about it. memtrace's bpftrace
// programs walk the saved (frame pointer, return address) pairs; code built without frame pointers
// (Debian's libraries and interpreters) uses that register for anything, so the walk either stops
// early (it read 0) or goes on through garbage: heap and stack addresses, ASCII read as an address.
// A report must show neither garbage frames nor a cut stack as if it were whole:
//
//   * a frame (past the leaf) outside code — no mapping, or one without execute permission — or a
//     "return address" no call instruction precedes ends the stack: it and everything rootward go;
//   * a walk that ended at a frame that is no thread's entry (`__libc_start_call_main`,
//     `start_thread`, …) stopped early.
//
// Either way the stack gets a marker frame at its root, naming the module of the last good frame
// (the code without frame pointers), and is counted; the note says what gives whole stacks.
//
// Stacks unwound with DWARF (bpftrace's dw_ustack) need no frame pointers: there a stack ends early
// only where the unwinder said so (`<unwind failure>`: no call-frame information for the next frame,
// as in JIT code or a library mapped after the trace started), and that marker is counted instead.
import type { Frame } from '../../model/stack-profile.js';
import { UNWIND_FAILURE_SYMBOL } from '../../parse/bpftrace-output.js';
import { formatCount } from '../../report/units.js';

/** A frame as walked, leaf first, with what the symbolizer found about its address. */
export interface WalkedFrame {
  frame: Frame;
  /** The address lies in code; undefined when nothing is known (no maps recorded). */
  code?: boolean;
  /** For a return address checked against its file: a call instruction precedes it. */
  afterCall?: boolean;
}

/**
 * Where a walk ends normally: the frames whose caller cleared the frame pointer (glibc's and musl's
 * process and thread entry) or has no frame at all.
 */
const ENTRY_FUNCTIONS = new Set([
  '_start',
  '__libc_start_call_main',
  '__libc_start_main',
  '__libc_start_main_impl',
  'libc_start_main_stage2',
  'start_thread',
  'clone',
  'clone3',
  '__clone',
  '__clone3',
  '__clone_internal',
]);

export const STACK_CUT_PREFIX = '[stack cut';

/** The root frame of a cut stack. */
export function stackCutFrame(module: string | null): Frame {
  return { name: module === null ? `${STACK_CUT_PREFIX}: no frame pointers]` : `${STACK_CUT_PREFIX} in ${module}: no frame pointers]` };
}

/** Counts cut stacks by the module where the walk was lost, and words the report's note. */
export class StackCuts {
  count = 0;

  /** `dwarf`: the stacks were unwound with DWARF, not walked along frame pointers (see the header). */
  constructor(private readonly unwinder: 'fp' | 'dwarf' = 'fp') {}

  /** Per module: stacks cut there, and their weight (allocations, faults) to rank modules by. */
  readonly #byModule = new Map<string, { stacks: number; weight: number }>();

  /**
   * Cuts a walked stack (leaf first) where it left the code, or marks it when the walk stopped
   * short of a thread's entry. `depthLimited`: the stack filled --stack-depth, so it ending early
   * is that limit's doing (counted apart), not the walk's. `weight` (the stack's allocations or
   * faults) ranks the modules in the note. Returns the frames to show, leaf first.
   */
  cut(walked: readonly WalkedFrame[], options: { depthLimited: boolean; weight: number }): Frame[] {
    // The leaf is the probe's own instruction pointer (or the faulting one): never a walked word.
    let kept = walked.findIndex((step, index) => index > 0 && (step.code === false || step.afterCall === false));
    if (kept === -1) {
      const last = walked.at(-1);
      // A leaf outside code (another process's address, memory mapped after the last snapshot)
      // leaves nothing to judge the walk by.
      if (this.unwinder === 'dwarf') {
        // The unwinder's own marker ends the stack where it could go no further: counted, kept.
        if (last?.frame.name === UNWIND_FAILURE_SYMBOL) this.#record(walked.at(-2)?.frame.module ?? null, options.weight);
        return walked.map((step) => step.frame);
      }
      const known = walked.every((step) => step.code !== undefined) && walked[0]?.code === true;
      if (last === undefined || !known || options.depthLimited || ENTRY_FUNCTIONS.has(last.frame.name))
        return walked.map((step) => step.frame);
      kept = walked.length;
    }
    const frames = walked.slice(0, kept).map((step) => step.frame);
    const module = frames.at(-1)?.module ?? null;
    this.#record(module, options.weight);
    return [
      ...frames,
      this.unwinder === 'dwarf'
        ? { name: `${STACK_CUT_PREFIX}${module === null ? '' : ` in ${module}`}: unwinding left the code]` }
        : stackCutFrame(module),
    ];
  }

  #record(module: string | null, weight: number): void {
    this.count += 1;
    const entry = this.#byModule.get(module ?? 'an unknown module') ?? { stacks: 0, weight: 0 };
    this.#byModule.set(module ?? 'an unknown module', { stacks: entry.stacks + 1, weight: entry.weight + weight });
  }

  /** The report's note, or null when no stack was cut. */
  note(): string | null {
    if (this.count === 0) return null;
    const modules = [...this.#byModule].sort((a, b) => b[1].weight - a[1].weight || b[1].stacks - a[1].stacks || a[0].localeCompare(b[0]));
    const where =
      modules.length === 1 ? modules[0]![0] : modules.map(([module, { stacks }]) => `${module} (${formatCount(stacks)})`).join(', ');
    if (this.unwinder === 'dwarf') {
      return (
        `${formatCount(this.count)} ${this.count === 1 ? 'stack ends' : 'stacks end'} where DWARF unwinding stopped, after ${where}: ` +
        'no call-frame information for the next frame (JIT code, hand-written assembly, or a library loaded after the trace started)'
      );
    }
    return (
      `${formatCount(this.count)} ${this.count === 1 ? 'stack was' : 'stacks were'} cut where the frame-pointer walk lost the stack, in ${where} ` +
      '(built without frame pointers): bpftrace 0.26 or later unwinds with DWARF and gives whole stacks: ' +
      '`memtrace setup-bpftrace` or `--stacks dwarf` (docs/compat.md)'
    );
  }
}
