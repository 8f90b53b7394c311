// The common stack model: every tool that attributes memory to call stacks produces a
// StackProfile, and every stack renderer (folded, svg, tsv, json) consumes one.
// Stacks are root first everywhere inside memtrace; only a pprof writer would reverse them.

/** One frame of a call stack, already symbolized. */
export interface Frame {
  /** Function name, demangled; `0x…` (hex address) when no symbol covers the address. */
  name: string;
  /** Base name of the file the frame's code lives in (`libc.so.6`, `myprog`), when known. */
  module?: string;
  /** Code a JIT generated, named from the process's perf map: `js` (V8) or `python` (CPython 3.12+). */
  kind?: 'js' | 'python';
}

/** What a value column of a profile measures, with its unit (pprof's ValueType). */
export interface ValueType {
  name: string;
  unit: 'count' | 'bytes' | 'nanoseconds';
}

export interface StackSample {
  /** Root first. */
  frames: Frame[];
  /** One number per value type, by name. */
  values: Record<string, number>;
}

export interface StackProfile {
  valueTypes: ValueType[];
  /** The value a flame graph or folded output shows unless told otherwise. */
  defaultValue: string;
  samples: StackSample[];
}

/** Merges samples whose frames are equal, summing their values element-wise (pprof's rule). */
export function mergeSamples(samples: Iterable<StackSample>): StackSample[] {
  const byKey = new Map<string, StackSample>();
  for (const sample of samples) {
    const key = sample.frames.map((frame) => `${frame.name}\u0000${frame.module ?? ''}`).join('\u0001');
    const existing = byKey.get(key);
    if (existing === undefined) {
      byKey.set(key, { frames: sample.frames, values: { ...sample.values } });
      continue;
    }
    for (const [name, value] of Object.entries(sample.values)) {
      existing.values[name] = (existing.values[name] ?? 0) + value;
    }
  }
  return [...byKey.values()];
}
