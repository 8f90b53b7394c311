// The common stack model: every tool that attributes memory to call stacks produces a
// StackProfile, and every stack renderer (folded, svg, tsv, json) consumes one.
// Stacks are root first everywhere inside memtrace; only a pprof writer would reverse them.

/** One frame of a call stack, already symbolized. */
export interface Frame {
  /** Function name, demangled; `0x…` (hex address) when no symbol covers the address. */
  name: string;
  /** Base name of the file the frame's code lives in (`libc.so.6`, `myprog`), when known. */
  module?: string;
  /**
   * Code of a language runtime rather than native code: `js` (V8) or `python`. Named from the
   * process's perf map (JIT code: V8, CPython 3.12+), or by a DTrace ustack helper (jstack(), or
   * Python's helper annotating the interpreter's frame).
   */
  kind?: 'js' | 'python';
  /** Where in the program's source the frame was, when the runtime said (a ustack helper's `file:line`). */
  source?: FrameSource;
  /**
   * Where the frame's address lay in the process and its file, when memtrace walked the stack itself
   * (absent for folded, dtrace and bpftrace-named input): what pprof's Location and Mapping carry so
   * that `go tool pprof` can symbolize again against the binaries.
   */
  place?: FramePlace;
}

/** A place in a source file, as a language runtime reported it. */
export interface FrameSource {
  file: string;
  /** 1-based line. */
  line?: number;
  /** Character offset in the file, where the runtime gave no line (V8's helper before it computed line ends: `pos 4021`). */
  position?: number;
}

/** A frame's address in the traced process and the mapping of the file that held it; numbers as `0x…` hex. */
export interface FramePlace {
  /** Full path of the mapped file. */
  path: string;
  /** The address as recorded (a return address for every frame but the leaf). */
  address: string;
  /** The mapping: start, end (exclusive), and the file offset mapped at start. */
  start: string;
  end: string;
  offset: string;
  /** The file's GNU build-id, when it has one. */
  buildId?: string;
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

/**
 * The name a report shows for a frame: its name, and its source place when it has one, as py-spy
 * and FlameGraph's Python collapsers show Python frames: `iterencode (/usr/lib/python3.9/json/encoder.py:257)`.
 */
export function frameLabel(frame: Frame): string {
  const source = frame.source;
  if (source === undefined) return frame.name;
  const where = source.line !== undefined ? `:${source.line}` : source.position !== undefined ? ` pos ${source.position}` : '';
  return `${frame.name} (${source.file}${where})`;
}

/** What makes two frames the same frame for merging: name, module and source place. */
export function frameKey(frame: Frame): string {
  const source = frame.source;
  return source === undefined
    ? `${frame.name}\u0000${frame.module ?? ''}`
    : `${frame.name}\u0000${frame.module ?? ''}\u0000${source.file}\u0000${source.line ?? ''}\u0000${source.position ?? ''}`;
}

/** Merges samples whose frames are equal, summing their values element-wise (pprof's rule). */
export function mergeSamples(samples: Iterable<StackSample>): StackSample[] {
  const byKey = new Map<string, StackSample>();
  for (const sample of samples) {
    const key = sample.frames.map(frameKey).join('\u0001');
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
