// The result of the malloc tool: the documented `json` contract (docs/tools/malloc.md) that users
// script against. Every field here is written by reduceMalloc and read by the renderers.
import type { TracerInfo } from './tracer-info.js';
import type { Frame, StackProfile } from './stack-profile.js';
import type { Log2Histogram } from './histogram.js';
import type { Timeline } from './timeline.js';
import type { StackGrowth } from './growth.js';

export interface TraceTarget {
  pid: number | null;
  command: string[] | null;
}

/** Everything that was not seen or not kept, so that no report hides a loss. */
export interface TraceLosses {
  /** Events the tracer reported as lost (perf ring buffer full). */
  lostEvents: number;
  /** Stacks cut at --stack-depth: their root-most frames are missing. */
  truncatedStacks: number;
  /** Allocations not attributed to a stack because the stack map was full. */
  unattributedAllocs: number;
  /** Live blocks not tracked (the live-address map was full): their frees look unmatched. */
  untrackedLiveBlocks: number;
  /** Frames whose address no captured mapping covers. */
  unsymbolizedFrames: number;
  /**
   * Stacks the frame-pointer walk lost before the thread's entry (code without frame pointers): cut
   * where it left the code or stopped, their root frame a `[stack cut …]` marker.
   */
  cutStacks: number;
  /** Malformed lines skipped under --lenient. */
  skippedLines: number;
  /** Lines that were not the program's output (another program's text in a saved log): read past, counted. Absent from reports older than it. */
  foreignLines: number;
}

export interface MallocTotals {
  allocs: number;
  frees: number;
  allocBytes: number;
  failed: number;
  freeNull: number;
  outstanding: number;
  outstandingBytes: number;
}

export interface FunctionSummary {
  name: string;
  calls: number;
  /** Bytes requested (0 for free and munmap). */
  bytes: number;
  /** Calls that returned NULL (MAP_FAILED for mmap). */
  failed: number;
}

export interface MallocStack {
  /** Root first. */
  frames: Frame[];
  allocs: number;
  allocBytes: number;
  outstanding: number;
  outstandingBytes: number;
  /** Age in seconds, at the end of the trace, of the oldest block of this stack still outstanding. */
  oldestAgeSeconds: number | null;
}

export interface MallocProfile {
  /** `external` profiles (Node's ArrayBuffer backing stores) follow the same contract. */
  tool: 'malloc' | 'external';
  /** Version of this contract; bumped when a field changes meaning. */
  schema: 1;
  target: TraceTarget;
  tracer: TracerInfo;
  allocator: { library: string | null; functions: string[] };
  startedAt: string | null;
  durationSeconds: number | null;
  /** True when the trace ended early (signal, tracer died) or input was cut short. */
  partial: boolean;
  partialReason: string | null;
  /** 1 when every call is traced; N when stacks and live blocks are a deterministic 1-in-N sample. */
  sampleEvery: number;
  lostEvents: number;
  losses: TraceLosses;
  totals: MallocTotals;
  functions: FunctionSummary[];
  histogram: Log2Histogram;
  stacks: MallocStack[];
  /** --timeline: every stack's outstanding bytes at each point of the trace (model/timeline.ts). */
  timeline?: Timeline;
  /** --timeline: the stacks that grew to the end, steadiest first (model/growth.ts). */
  growth?: StackGrowth[];
  /** --timeline: every other stack that allocated while traced, with how it behaved. */
  notGrowing?: StackGrowth[];
  /** --timeline: why no stack could be ranked, when so. */
  growthNote?: string | null;
  notes: string[];
}

export const MALLOC_VALUE_TYPES = [
  { name: 'allocs', unit: 'count' },
  { name: 'allocBytes', unit: 'bytes' },
  { name: 'outstanding', unit: 'count' },
  { name: 'outstandingBytes', unit: 'bytes' },
] as const;

export type MallocValueName = (typeof MALLOC_VALUE_TYPES)[number]['name'];

export function emptyLosses(): TraceLosses {
  return {
    lostEvents: 0,
    truncatedStacks: 0,
    unattributedAllocs: 0,
    untrackedLiveBlocks: 0,
    unsymbolizedFrames: 0,
    cutStacks: 0,
    skippedLines: 0,
    foreignLines: 0,
  };
}

/** The stacks of a malloc profile as a generic StackProfile, for the stack renderers. */
export function mallocStackProfile(profile: MallocProfile, value: MallocValueName = 'allocBytes'): StackProfile {
  return {
    valueTypes: MALLOC_VALUE_TYPES.map((type) => ({ ...type })),
    defaultValue: value,
    samples: profile.stacks.map((stack) => ({
      frames: stack.frames,
      values: {
        allocs: stack.allocs,
        allocBytes: stack.allocBytes,
        outstanding: stack.outstanding,
        outstandingBytes: stack.outstandingBytes,
      },
    })),
  };
}
