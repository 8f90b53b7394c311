// The result of the faults tool: the documented `json` contract (docs/tools/faults.md). Every field
// here is written by reduceFaults and read by the renderers.
import type { TracerInfo } from './tracer-info.js';
import type { Frame, StackProfile } from './stack-profile.js';
import type { TraceTarget } from './malloc-profile.js';

export interface FaultsTotals {
  /** Every user-space page fault of the target. */
  faults: number;
  /** Faults on pages that were not present: each maps one page (the resident bytes' count). */
  notPresentFaults: number;
  /** Faults on present pages (copy-on-write, a write to a read-only page): no page is added. */
  protectionFaults: number;
  writeFaults: number;
  instructionFaults: number;
  /** Page size × faults on not-present pages: an upper bound of RSS growth (docs/tools/faults.md). */
  residentBytes: number;
  brkCalls: number;
  /** Growth of the break (new − old), summed over the brk calls that raised it. */
  brkBytes: number;
  brkShrinkBytes: number;
  mmapCalls: number;
  mmapFailed: number;
  /** Lengths of successful mmaps, in whole pages: address space, resident only once touched. */
  mmapBytes: number;
  munmapCalls: number;
  munmapBytes: number;
}

export interface FaultsLosses {
  lostEvents: number;
  truncatedStacks: number;
  /** Distinct stacks that hashed alike (their counts merged). */
  stackCollisions: number;
  /** Faults whose saved user registers did not match the fault's own ip: their stacks are unreliable. */
  registerMismatches: number;
  unsymbolizedFrames: number;
  /** Stacks the frame-pointer walk lost before the thread's entry: their root frame is a `[stack cut …]` marker. */
  cutStacks: number;
  skippedLines: number;
  /** Lines that were not the program's output: read past, counted. */
  foreignLines: number;
}

export interface FaultsStack {
  /** Root first. */
  frames: Frame[];
  faults: number;
  residentBytes: number;
  brkBytes: number;
  mmapBytes: number;
}

export interface FaultsProfile {
  tool: 'faults';
  schema: 1;
  target: TraceTarget;
  tracer: TracerInfo;
  startedAt: string | null;
  durationSeconds: number | null;
  partial: boolean;
  partialReason: string | null;
  pageSize: number;
  lostEvents: number;
  losses: FaultsLosses;
  totals: FaultsTotals;
  stacks: FaultsStack[];
  notes: string[];
}

export const FAULTS_VALUE_TYPES = [
  { name: 'faults', unit: 'count' },
  { name: 'residentBytes', unit: 'bytes' },
  { name: 'brkBytes', unit: 'bytes' },
  { name: 'mmapBytes', unit: 'bytes' },
] as const;

export type FaultsValueName = (typeof FAULTS_VALUE_TYPES)[number]['name'];

/** The stacks of a faults profile as a generic StackProfile, for the stack renderers. */
export function faultsStackProfile(profile: FaultsProfile, value: FaultsValueName = 'residentBytes'): StackProfile {
  return {
    valueTypes: FAULTS_VALUE_TYPES.map((type) => ({ ...type })),
    defaultValue: value,
    samples: profile.stacks.map((stack) => ({
      frames: stack.frames,
      values: { faults: stack.faults, residentBytes: stack.residentBytes, brkBytes: stack.brkBytes, mmapBytes: stack.mmapBytes },
    })),
  };
}
