// How a tool's program unwinds user stacks, chosen from what the bpftrace can do and what the user
// asked for (`--stacks fp|dwarf`), for every tool that takes stacks (malloc, external, faults).
//
//   fp     memtrace's own frame-pointer walk: cheap (about 1.3 µs a stack here), whole only through
//          code that keeps frame pointers. Distribution binaries (Debian's sqlite3, python3.11, most
//          libraries) do not: the walk stops or wanders off at their first frame.
//   dwarf  bpftrace's dw_ustack (0.26 and later, x86_64, LLVM 21): unwinds with .eh_frame in the
//          kernel, through code built without frame pointers, for about 3.3 µs a stack here.
//
// The default is DWARF wherever the bpftrace has it: a stack cut at its first frame answers nothing,
// and whole stacks are what the tools are for. Except for Node: V8's generated code (builtins, JIT)
// has no call-frame information, so DWARF unwinding stops at the first JS frame (measured: external's
// stacks ended at Builtins_CEntry_…), while node and its JIT code keep frame pointers: there the
// frame-pointer walk is the whole stack. Figures: docs/performance.md, docs/compat.md.
import { UsageError } from '../errors.js';
import type { BpftraceFeatures } from './bpftrace-features.js';

export type StackUnwinder = 'fp' | 'dwarf';

export interface UnwinderChoice {
  unwinder: StackUnwinder;
  /** One sentence for the program's comments, the report header and the json's tracer.choices. */
  choice: string;
}

/** What `--stacks` accepts; anything else is a usage error naming the option. */
export function parseStackUnwinder(text: string): StackUnwinder {
  if (text === 'fp' || text === 'dwarf') return text;
  throw new UsageError(
    `--stacks: expected fp (frame pointers) or dwarf (DWARF unwinding, bpftrace 0.26 or later), not ${JSON.stringify(text)}`,
  );
}

/**
 * The unwinder a program uses: the one asked for, or DWARF where the tracer has it. DWARF asked of a
 * tracer without it is refused before anything runs, saying how to get one that has it.
 */
export function chooseStackUnwinder(
  requested: StackUnwinder | null,
  tracer: { path: string; version: string | null; features: BpftraceFeatures },
  target: { node: boolean } = { node: false },
): UnwinderChoice {
  const able = tracer.features.dwarfStacks;
  if (requested === 'dwarf' && !able) {
    const which = tracer.version === null ? tracer.path : `bpftrace ${tracer.version} (${tracer.path})`;
    throw new UsageError(
      `--stacks dwarf: ${which} cannot unwind stacks with DWARF (its --info does not say "dwunwind: yes"); ` +
        'bpftrace 0.26 or later built with LLVM 21 can: run "memtrace-bpf setup-bpftrace" to set up a private one (docs/compat.md), or use --stacks fp',
    );
  }
  if (requested === null && able && target.node) {
    return {
      unwinder: 'fp',
      choice:
        'user stacks walk frame pointers: the target is node, whose JIT code has no DWARF call-frame information (DWARF unwinding would stop at the first JS frame) and which keeps frame pointers; --stacks dwarf to unwind with DWARF',
    };
  }
  if (requested === 'fp' || !able) {
    return {
      unwinder: 'fp',
      choice: able
        ? 'user stacks walk frame pointers (--stacks fp): cut short in code built without them'
        : 'user stacks walk frame pointers: this bpftrace cannot unwind with DWARF, so stacks are cut short in code built without frame pointers',
    };
  }
  return {
    unwinder: 'dwarf',
    choice: `user stacks unwound with DWARF call-frame information (dw_ustack${requested === 'dwarf' ? ', --stacks dwarf' : ''}): whole through code built without frame pointers`,
  };
}

/** The program's stack mode for an unwinder (see probes/malloc-spec.ts StackMode). */
export function stackModeOf(unwinder: StackUnwinder): 'frames' | 'dwarf' {
  return unwinder === 'fp' ? 'frames' : 'dwarf';
}
