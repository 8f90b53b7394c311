// Folds the raw output of the malloc program and the resolved frame names into the MallocProfile
// contract. Pure: the names are resolved beforehand (live from the target's maps, or from the
// symbols a raw log carries) and passed in.
import type { Frame } from '../../model/stack-profile.js';
import { emptyLosses, type FunctionSummary, type MallocProfile, type MallocStack } from '../../model/malloc-profile.js';
import type { MallocRaw, MallocRawTimeline } from '../../parse/malloc-log.js';
import { analyseGrowth } from '../../model/growth.js';
import type { Timeline, TimelineStack } from '../../model/timeline.js';
import type { PrintedFrame } from '../../parse/bpftrace-output.js';
import { compareFrames, isNamed, withModule, type ResolvedName } from './frame-names.js';
import { STACK_CUT_PREFIX, StackCuts, type WalkedFrame } from './stack-cut.js';

export type { ResolvedName } from './frame-names.js';

export interface ReduceMallocOptions {
  /** The tool whose program produced the output (default malloc). */
  tool?: MallocProfile['tool'];
  target: MallocProfile['target'];
  tracer: MallocProfile['tracer'];
  allocator: MallocProfile['allocator'];
  startedAt: string | null;
  durationSeconds: number | null;
  partialReason: string | null;
  sampleEvery: number;
  /** Names of frame addresses (return addresses, already looked up at address - 1). */
  names: ReadonlyMap<bigint, ResolvedName>;
  /** When the timeline's first point was, on the wall clock (seen live; a raw log's trailer keeps it). */
  timelineStartedAt?: string | null;
  /** The program's --stack-depth, when known: a stack that long was cut by it, not by the walk. */
  stackDepth?: number;
  notes?: string[];
}

export function reduceMalloc(raw: MallocRaw, options: ReduceMallocOptions): MallocProfile {
  let unsymbolizedFrames = 0;
  const cuts = new StackCuts(options.tracer.stacks ?? 'fp');
  const walkedFrame = (printed: PrintedFrame): WalkedFrame => {
    if (printed.symbol !== null) {
      // bpftrace prints `name+offset`; the offset is per call site, the name is what a report groups by.
      return { frame: withModule(printed.symbol.replace(/\+\d+$/, ''), printed.module) };
    }
    // A frame without a symbol has its address (PrintedFrame's rule).
    const address = printed.address ?? 0n;
    const resolved = options.names.get(address);
    if (resolved === undefined) return { frame: withModule(`0x${address.toString(16)}`, printed.module) };
    let frame = withModule(resolved.name, resolved.module);
    if (resolved.kind !== undefined) frame = { ...frame, kind: resolved.kind };
    if (resolved.place !== undefined) frame = { ...frame, place: resolved.place };
    return { frame, code: resolved.code, afterCall: resolved.afterCall };
  };
  const longest = Math.max(0, ...[...raw.stacks.values()].map((stack) => stack.frames.length));
  const depth = options.stackDepth ?? (raw.truncated > 0 ? longest : null);
  const framesOf = (printed: PrintedFrame[], allocs: number): Frame[] => {
    const shown = cuts.cut(printed.map(walkedFrame), { depthLimited: depth !== null && printed.length >= depth, weight: allocs });
    // Frames past a cut are not shown, so they are not counted as unnamed either.
    const kept = shown.at(-1)?.name.startsWith(STACK_CUT_PREFIX) ? shown.length - 1 : shown.length;
    for (const frame of printed.slice(0, kept)) {
      const resolved = frame.symbol === null ? options.names.get(frame.address ?? 0n) : undefined;
      if (frame.symbol === null && (resolved === undefined || !isNamed(resolved))) unsymbolizedFrames += 1;
    }
    return shown.reverse();
  };

  const outstandingByStack = new Map<string, { count: number; bytes: number; oldestNs: number }>();
  for (const block of raw.live) {
    const entry = outstandingByStack.get(block.stackKey) ?? { count: 0, bytes: 0, oldestNs: Number.POSITIVE_INFINITY };
    entry.count += 1;
    entry.bytes += block.size;
    entry.oldestNs = Math.min(entry.oldestNs, block.bornNs);
    outstandingByStack.set(block.stackKey, entry);
  }

  const stacks: MallocStack[] = [];
  const framesByKey = new Map<string, Frame[]>();
  const addStack = (key: string, frames: PrintedFrame[], allocs: number, allocBytes: number) => {
    const outstanding = outstandingByStack.get(key);
    const shown = frames.length === 0 ? [NO_FRAMES] : framesOf(frames, allocs);
    framesByKey.set(key, shown);
    stacks.push({
      frames: shown,
      allocs,
      allocBytes,
      outstanding: outstanding?.count ?? 0,
      outstandingBytes: outstanding?.bytes ?? 0,
      oldestAgeSeconds: outstanding === undefined || raw.endNs === null ? null : round((raw.endNs - outstanding.oldestNs) / 1e9, 6),
    });
  };
  // The parser gave every live block a stack entry, even when the stack map had no room for its counts.
  for (const [key, stack] of raw.stacks) addStack(key, stack.frames, stack.allocs, stack.bytes);
  stacks.sort((a, b) => b.allocBytes - a.allocBytes || b.outstandingBytes - a.outstandingBytes || compareFrames(a.frames, b.frames));

  const functions: FunctionSummary[] = [...raw.calls.keys()]
    .map((name) => ({ name, calls: raw.calls.get(name) ?? 0, bytes: raw.bytes.get(name) ?? 0, failed: raw.failed.get(name) ?? 0 }))
    .sort((a, b) => b.bytes - a.bytes || b.calls - a.calls || a.name.localeCompare(b.name));

  const stackAllocs = [...raw.stacks.values()].reduce((sum, stack) => sum + stack.allocs, 0);
  const outstanding = raw.live.length;
  const outstandingBytes = raw.live.reduce((sum, block) => sum + block.size, 0);
  const partialReason = options.partialReason ?? (raw.ended ? null : 'the trace ended before the tracer printed its results');
  const losses = {
    ...emptyLosses(),
    lostEvents: raw.lostEvents,
    truncatedStacks: raw.truncated,
    unattributedAllocs: Math.max(0, raw.liveAllocs - stackAllocs),
    untrackedLiveBlocks: Math.max(0, raw.liveAllocs - raw.liveFrees - outstanding),
    unsymbolizedFrames,
    cutStacks: cuts.count,
    skippedLines: raw.lines.malformed,
    foreignLines: raw.lines.foreign,
  };
  const timeline = raw.timeline === null ? null : timelineOf(raw.timeline, framesByKey, options.timelineStartedAt ?? null);
  const growth = timeline === null ? null : analyseGrowth(timeline);
  return {
    tool: options.tool ?? 'malloc',
    schema: 1,
    target: options.target,
    tracer: options.tracer,
    allocator: options.allocator,
    startedAt: options.startedAt,
    durationSeconds: options.durationSeconds,
    partial: partialReason !== null,
    partialReason,
    sampleEvery: options.sampleEvery,
    lostEvents: raw.lostEvents,
    losses,
    totals: {
      allocs: raw.okAllocs,
      frees: raw.frees,
      allocBytes: raw.okBytes,
      failed: [...raw.failed.values()].reduce((sum, count) => sum + count, 0),
      freeNull: raw.freeNull,
      outstanding,
      outstandingBytes,
    },
    functions,
    histogram: { unit: 'bytes', buckets: raw.histogram.filter((bucket) => bucket.count > 0).map((bucket) => ({ ...bucket })) },
    stacks,
    ...(timeline === null || growth === null
      ? {}
      : { timeline, growth: growth.growth, notGrowing: growth.notGrowing, growthNote: growth.note }),
    notes: [...(options.notes ?? []), ...stackNotes(raw), ...noteOf(cuts)],
  };
}

const NO_FRAMES: Frame = { name: '[frames not recorded]' };

/**
 * V8's tier mark in a perf map's JS name (`JS:~f` interpreted, `^` baseline, `+` Maglev, `*`
 * TurboFan): a function that V8 optimizes mid-trace is one call path in the timeline, not two
 * series that each seem to stop growing.
 */
const JS_TIER = /^JS:[~^+*]/;

/**
 * The raw timeline with frames for its stack keys. Keys whose frames name alike (two call sites in
 * one function, one JS function in two tiers, or stacks the map had no room for) are one series:
 * their bytes add up.
 */
function timelineOf(raw: MallocRawTimeline, framesByKey: ReadonlyMap<string, Frame[]>, startedAt: string | null): Timeline {
  const byFrames = new Map<string, TimelineStack>();
  for (const series of raw.series) {
    const frames = framesByKey.get(series.key) ?? [NO_FRAMES];
    const identity = JSON.stringify(frames.map((frame) => [frame.name.replace(JS_TIER, 'JS:'), frame.module ?? '']));
    const known = byFrames.get(identity);
    if (known === undefined) {
      byFrames.set(identity, { frames, outstandingBytes: [...series.outstandingBytes], allocatedBytes: [...series.allocatedBytes] });
      continue;
    }
    series.outstandingBytes.forEach((bytes, index) => (known.outstandingBytes[index]! += bytes));
    series.allocatedBytes.forEach((bytes, index) => (known.allocatedBytes[index]! += bytes));
  }
  return {
    startedAt,
    intervalSeconds: raw.intervalSeconds,
    requestedIntervalSeconds: raw.requestedIntervalSeconds,
    downsampleFactor: raw.downsampleFactor,
    maxPoints: raw.maxPoints,
    times: raw.times.map((time) => round(time, 6)),
    stacks: [...byFrames.values()].sort(
      (a, b) => b.outstandingBytes.at(-1)! - a.outstandingBytes.at(-1)! || compareFrames(a.frames, b.frames),
    ),
  };
}

/** Every distinct frame address the raw output needs named. */
export function frameAddresses(raw: MallocRaw): bigint[] {
  const addresses = new Set<bigint>();
  for (const stack of raw.stacks.values())
    for (const frame of stack.frames) if (frame.symbol === null && frame.address !== null) addresses.add(frame.address);
  return [...addresses];
}

function noteOf(cuts: StackCuts): string[] {
  const note = cuts.note();
  return note === null ? [] : [note];
}

function stackNotes(raw: MallocRaw): string[] {
  const notes: string[] = [];
  if (raw.stackCollisions > 0)
    notes.push(`${raw.stackCollisions} allocations hashed to the stack of another call site: their stacks were merged`);
  const frameless = [...raw.stacks.values()].filter((stack) => stack.frames.length === 0).length;
  if (frameless > 0) notes.push(`${frameless} stacks have no frames: the frame map was full (raise --map-entries)`);
  return notes;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
