// Folds the raw output of the faults program and the resolved frame names into the FaultsProfile
// contract. Pure: the names are resolved beforehand (live from the target's maps, or from the
// symbols a raw log carries) and passed in.
import { mergeSamples, type Frame } from '../../model/stack-profile.js';
import type { FaultsProfile, FaultsStack } from '../../model/faults-profile.js';
import type { FaultsRaw, FaultsRawFrames } from '../../parse/faults-log.js';
import { compareFrames, withModule, type ResolvedName } from '../common/frame-names.js';
import { StackCuts, STACK_CUT_PREFIX, type WalkedFrame } from '../common/stack-cut.js';
import { UNWIND_FAILURE_SYMBOL } from '../../parse/bpftrace-output.js';

export interface FrameName extends ResolvedName {
  /** False when no function symbol covers the address (a data word, code without symbols). */
  resolved: boolean;
}

/** Names of the two kinds of address: a leaf is the faulting instruction, a caller a return address. */
export interface FaultsNames {
  leaves: ReadonlyMap<bigint, FrameName>;
  callers: ReadonlyMap<bigint, FrameName>;
}

export interface ReduceFaultsOptions {
  target: FaultsProfile['target'];
  tracer: FaultsProfile['tracer'];
  startedAt: string | null;
  durationSeconds: number | null;
  partialReason: string | null;
  pageSize: number;
  names: FaultsNames;
  /** The program's --stack-depth, when known: a stack that long was cut by it, not by the walk. */
  stackDepth?: number;
  notes?: string[];
}

export function reduceFaults(raw: FaultsRaw, options: ReduceFaultsOptions): FaultsProfile {
  let unsymbolizedFrames = 0;
  const cuts = new StackCuts(options.tracer.stacks ?? 'fp');
  const walked = (address: bigint, name: FrameName | undefined): WalkedFrame => {
    if (name === undefined) return { frame: { name: `0x${address.toString(16)}` } };
    let frame = withModule(name.name, name.module);
    if (name.place !== undefined) frame = { ...frame, place: name.place };
    return { frame, code: name.code, afterCall: name.afterCall };
  };
  const framesOf = (frames: FaultsRawFrames, weight: number): Frame[] => {
    if (frames.leaf === null) return [{ name: '[frames not recorded]' }];
    const leafFirst: Array<{ address: bigint; name: FrameName | undefined }> = [
      { address: frames.leaf, name: options.names.leaves.get(frames.leaf) },
    ];
    const candidate = frames.candidate === null ? undefined : options.names.callers.get(frames.candidate);
    // The word at the stack pointer is the caller of a frameless leaf only if it is a code address
    // (a function covers it) that the frame-pointer chain does not already show.
    if (frames.candidate !== null && candidate?.resolved === true && frames.candidate !== frames.callers[0]) {
      leafFirst.push({ address: frames.candidate, name: candidate });
    }
    for (const caller of frames.callers) leafFirst.push({ address: caller, name: options.names.callers.get(caller) });
    const walkedFrames = leafFirst.map(({ address, name }) => walked(address, name));
    if (frames.unwindStopped === true) walkedFrames.push({ frame: { name: UNWIND_FAILURE_SYMBOL } });
    const shown = cuts.cut(walkedFrames, {
      depthLimited: options.stackDepth !== undefined && frames.callers.length + 1 >= options.stackDepth,
      weight,
    });
    const kept = shown.at(-1)?.name.startsWith(STACK_CUT_PREFIX) ? shown.length - 1 : shown.length;
    // Frames past a cut are not shown, so they are not counted as unnamed either.
    for (const { name } of leafFirst.slice(0, kept))
      if (name === undefined || !name.resolved || name.name.startsWith('0x')) unsymbolizedFrames += 1;
    return shown.reverse();
  };

  // Stacks that differ only in addresses within the same functions (a read and a write of one loop)
  // are one stack once named: merged, their values summed.
  const stacks: FaultsStack[] = mergeSamples(
    [...raw.stacks.values()].map((stack) => ({
      frames: framesOf(stack.frames, stack.faults),
      values: { faults: stack.faults, residentBytes: stack.residentBytes, brkBytes: stack.brkBytes, mmapBytes: stack.mmapBytes },
    })),
  ).map(({ frames, values }) => ({
    frames,
    faults: values.faults ?? 0,
    residentBytes: values.residentBytes ?? 0,
    brkBytes: values.brkBytes ?? 0,
    mmapBytes: values.mmapBytes ?? 0,
  }));
  stacks.sort(
    (a, b) =>
      b.residentBytes - a.residentBytes ||
      b.faults - a.faults ||
      b.brkBytes + b.mmapBytes - (a.brkBytes + a.mmapBytes) ||
      compareFrames(a.frames, b.frames),
  );

  const kinds = (mask: number, bits: number) =>
    [...raw.faultKinds].filter(([code]) => (code & mask) === bits).reduce((sum, [, count]) => sum + count, 0);
  const partialReason =
    options.partialReason ??
    (!raw.ended
      ? 'the trace ended before the tracer printed its results'
      : raw.complete
        ? null
        : 'the output ends before the tracer had printed all its results');
  const notes = [...(options.notes ?? [])];
  if (raw.stackCollisions > 0)
    notes.push(`${raw.stackCollisions} events hashed to the stack of another call site: their stacks were merged`);
  if (raw.registerMismatches > 0)
    notes.push(
      `${raw.registerMismatches} faults found saved user registers that were not the faulting thread's: stacks are unreliable on this kernel (kernel stack size?)`,
    );
  const frameless = stacks.filter((stack) => stack.frames[0]?.name === '[frames not recorded]').length;
  if (frameless > 0) notes.push(`${frameless} stacks have no frames: the frame map was full (raise --map-entries)`);
  const cutNote = cuts.note();
  if (cutNote !== null) notes.push(cutNote);
  return {
    tool: 'faults',
    schema: 1,
    target: options.target,
    tracer: options.tracer,
    startedAt: options.startedAt,
    durationSeconds: options.durationSeconds,
    partial: partialReason !== null,
    partialReason,
    pageSize: options.pageSize,
    lostEvents: raw.lostEvents,
    losses: {
      lostEvents: raw.lostEvents,
      truncatedStacks: raw.truncated,
      stackCollisions: raw.stackCollisions,
      registerMismatches: raw.registerMismatches,
      unsymbolizedFrames,
      cutStacks: cuts.count,
      skippedLines: raw.lines.malformed,
      foreignLines: raw.lines.foreign,
    },
    totals: {
      faults: raw.faults,
      notPresentFaults: kinds(1, 0),
      protectionFaults: kinds(1, 1),
      writeFaults: kinds(2, 2),
      instructionFaults: kinds(0x10, 0x10),
      residentBytes: raw.residentBytes,
      brkCalls: raw.brkCalls,
      brkBytes: raw.brkBytes,
      brkShrinkBytes: raw.brkShrinkBytes,
      mmapCalls: raw.mmapCalls,
      mmapFailed: raw.mmapFailed,
      mmapBytes: raw.mmapBytes,
      munmapCalls: raw.munmapCalls,
      munmapBytes: raw.munmapBytes,
    },
    stacks,
    notes,
  };
}

/** The addresses to name: leaves as instructions, the rest as return addresses. */
export function faultsFrameAddresses(raw: FaultsRaw): { leaves: bigint[]; callers: bigint[] } {
  const leaves = new Set<bigint>();
  const callers = new Set<bigint>();
  for (const { frames } of raw.stacks.values()) {
    if (frames.leaf !== null) leaves.add(frames.leaf);
    if (frames.candidate !== null) callers.add(frames.candidate);
    for (const caller of frames.callers) callers.add(caller);
  }
  return { leaves: [...leaves], callers: [...callers] };
}
