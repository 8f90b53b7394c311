// The trace-malloc model: a V8 sampling heap profile reduced to allocation sites (function and
// file:line, by bytes and count) and stacks, with the profiler's own share taken out.
//
// V8's sampling heap profiler attributes a sample to the JavaScript function on top of the stack
// when the object was allocated; its call frames carry the line where that function starts, not
// the line of the allocation. So "line" here is the function's line: it tells apart two functions
// of the same name, and points at the function to read.
import type { Frame, StackProfile, StackSample } from './stack-profile.js';

/** The shape of V8's profile (see node/heap-sampler.cts, whose types are the same). */
export interface V8HeapProfileNode {
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  id: number;
  children: V8HeapProfileNode[];
}

export interface V8HeapProfile {
  head: V8HeapProfileNode;
  samples: Array<{ size: number; nodeId: number; ordinal: number }>;
}

export type GroupBy = 'line' | 'function' | 'file' | 'stack';
export const GROUP_BY: GroupBy[] = ['line', 'function', 'file', 'stack'];

export interface AllocationSite {
  function: string;
  /** Script URL or path; "" for V8's own frames. */
  file: string;
  /** 1-based line where the function starts (0 when unknown). */
  line: number;
  /** For groupBy "stack": the whole stack, root first, ";"-joined. */
  stack?: string;
  /** Estimated bytes allocated: V8 weighs each sample by the inverse of its chance of being taken. */
  bytes: number;
  /**
   * Allocations sampled at this site. Not a count of objects: the protocol gives each sample's size
   * already multiplied by its weight, and the product cannot be split back (an object of 1,054 B
   * weighed 32 and one of 16,864 B weighed 2 both read 33,728 B).
   */
  count: number;
}

export interface JsHeapReport {
  header: {
    tool: 'trace-malloc';
    target: { pid: number; command?: string[] };
    start: string;
    host: string;
    node: string;
    durationSeconds: number;
    samplingInterval: number;
    mode: 'allocated' | 'retained';
    groupBy: GroupBy;
  };
  /** Largest first. */
  sites: AllocationSite[];
  stacks: StackProfile;
  totals: { bytes: number; count: number };
  /** The profiler's and memtrace's own allocations, taken out of the sites and totals. */
  overhead: { bytes: number; samples: number; how: string };
  /** The measured block threw (API), or the program ended on a signal (CLI). */
  error?: string;
}

export interface ReduceOptions {
  groupBy: GroupBy;
  samplingInterval: number;
  /** Whether a top frame is memtrace's or the inspector's own (its samples are overhead). */
  isOwnFrame: (url: string) => boolean;
  /** Per-site bytes measured around an empty block, taken off the same sites (clamped at 0). */
  calibration?: Map<string, number>;
}

interface Reduced {
  sites: AllocationSite[];
  stacks: StackProfile;
  totals: JsHeapReport['totals'];
  overhead: { bytes: number; samples: number };
}

export function frameOf(node: V8HeapProfileNode): Frame & { file: string; line: number; function: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  const fn = functionName === '' ? '(anonymous)' : functionName;
  const line = lineNumber >= 0 ? lineNumber + 1 : 0;
  const base = url.split('/').pop() ?? url;
  return { name: url === '' ? fn : `${fn} (${base}:${line})`, module: url === '' ? undefined : base, file: url, line, function: fn };
}

export function siteKey(groupBy: GroupBy, top: { function: string; file: string; line: number }, stack: string): string {
  switch (groupBy) {
    case 'line':
      return `${top.function}\u0000${top.file}\u0000${top.line}`;
    case 'function':
      return `${top.function}\u0000${top.file}`;
    case 'file':
      return top.file;
    case 'stack':
      return stack;
  }
}

/** Walks the profile's tree: each node with samples is one stack with its top frame. */
export function reduceHeapProfile(profile: V8HeapProfile, options: ReduceOptions): Reduced {
  // Bytes come from the samples list, not the nodes' selfSize: V8 keeps the two apart and they differ
  // slightly (samples taken while the profile was being built land only in the list). A profile
  // without a samples list (older writers) falls back on selfSize.
  const countsByNode = new Map<number, number>();
  const bytesByNode = new Map<number, number>();
  for (const sample of profile.samples) {
    countsByNode.set(sample.nodeId, (countsByNode.get(sample.nodeId) ?? 0) + 1);
    bytesByNode.set(sample.nodeId, (bytesByNode.get(sample.nodeId) ?? 0) + sample.size);
  }
  const bytesOf = (node: V8HeapProfileNode): number => (profile.samples.length === 0 ? node.selfSize : (bytesByNode.get(node.id) ?? 0));
  const sites = new Map<string, AllocationSite>();
  const stackSamples: StackSample[] = [];
  const overhead = { bytes: 0, samples: 0 };
  const visit = (node: V8HeapProfileNode, path: Array<ReturnType<typeof frameOf>>): void => {
    const frames = node.callFrame.functionName === '(root)' && path.length === 0 ? path : [...path, frameOf(node)];
    const counted = countsByNode.get(node.id);
    const bytes = bytesOf(node);
    if (bytes > 0 && frames.length > 0) {
      const top = frames.at(-1)!;
      if (options.isOwnFrame(top.file)) {
        overhead.bytes += bytes;
        overhead.samples += counted ?? 0;
      } else {
        const stack = frames.map((frame) => frame.name).join(';');
        const key = siteKey(options.groupBy, top, stack);
        const site = sites.get(key) ?? {
          function: top.function,
          file: top.file,
          line: top.line,
          bytes: 0,
          count: 0,
          ...(options.groupBy === 'stack' ? { stack } : {}),
        };
        if (options.groupBy === 'file') site.function = '';
        if (options.groupBy !== 'line' && options.groupBy !== 'stack') site.line = 0;
        site.bytes += bytes;
        site.count += counted ?? 0;
        sites.set(key, site);
        stackSamples.push({ frames: frames.map(({ name, module }) => ({ name, module })), values: { bytes, count: counted ?? 0 } });
      }
    }
    for (const child of node.children) visit(child, frames);
  };
  visit(profile.head, []);

  if (options.calibration !== undefined) {
    for (const [key, bytes] of options.calibration) {
      const site = sites.get(key);
      if (site === undefined) continue;
      const taken = Math.min(site.bytes, bytes);
      overhead.bytes += taken;
      site.bytes -= taken;
    }
  }
  const ordered = [...sites.values()]
    .filter((site) => site.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes || a.function.localeCompare(b.function));
  return {
    sites: ordered,
    stacks: {
      valueTypes: [
        { name: 'bytes', unit: 'bytes' },
        { name: 'count', unit: 'count' },
      ],
      defaultValue: 'bytes',
      samples: stackSamples,
    },
    totals: {
      bytes: ordered.reduce((sum, site) => sum + site.bytes, 0),
      count: ordered.reduce((sum, site) => sum + site.count, 0),
    },
    overhead,
  };
}

/** Per-site bytes of a profile, keyed like the sites: the calibration of an empty block. */
export function siteBytes(profile: V8HeapProfile, options: Omit<ReduceOptions, 'calibration'>): Map<string, number> {
  const reduced = reduceHeapProfile(profile, options);
  return new Map(reduced.sites.map((site) => [siteKey(options.groupBy, site, site.stack ?? ''), site.bytes]));
}
