// Which stacks keep growing: each stack's outstanding bytes over a timeline, fitted with a straight
// line and compared with how the stack behaved at the end of the trace and how much it allocated.
// A leak rises steadily to the end; a cache that filled rose and stopped; a burst rose and was
// released; churn allocates far more than it ever holds. Only the first two kinds of rise rank.
import type { Frame } from './stack-profile.js';
import type { Timeline } from './timeline.js';

export type GrowthKind =
  /** Rises to the end, along a straight line (fit ≥ STEADY_FIT): a leak suspect. */
  | 'steady-growth'
  /** Rises to the end, but not along a line: growth that comes in steps or bursts. */
  | 'growth'
  /** Rose, then held: a pool or a cache that filled. */
  | 'plateau'
  /** Rose, then gave most of it back. */
  | 'released'
  /** Allocated many times what it ever held, without rising steadily: allocated and freed. */
  | 'churn'
  /** Nothing of the above: held about the same throughout. */
  | 'flat';

export interface StackGrowth {
  /** Root first. */
  frames: Frame[];
  kind: GrowthKind;
  /** Slope of the least-squares line through the outstanding bytes, in bytes per second. */
  bytesPerSecond: number;
  /** R² of that line: 1 when the bytes rose along it exactly, 0 when the line explains nothing. */
  fit: number;
  /** The slope over the last third of the trace: about bytesPerSecond while the stack still grows. */
  recentBytesPerSecond: number;
  /** Of the bytes all growing stacks gained, this stack's part (0 for the others). */
  shareOfGrowth: number;
  /** Outstanding at the end of the trace, and the most at any point. */
  endBytes: number;
  peakBytes: number;
  /** Bytes allocated during the trace, freed or not. */
  allocatedBytes: number;
}

export interface GrowthAnalysis {
  /** Stacks that grew to the end: steady growth first, then by fit × rate. */
  growth: StackGrowth[];
  /** Every other stack that allocated while traced, with its kind; by peak bytes. */
  notGrowing: StackGrowth[];
  /** Why no stack could be ranked, when so. */
  note: string | null;
}

/** R² from which a rise counts as steady. */
export const STEADY_FIT = 0.9;
/** A stack still grows when its recent slope is at least this share of its overall slope. */
const STILL_GROWING = 0.5;
/** A stack released its rise when it ends at or below this share of its peak. */
const RELEASED_SHARE = 0.5;
/** Churn: allocated at least this many times its peak, without a steady rise. */
const CHURN_RATIO = 10;
/** Fewer points than this (the start included) say nothing about a trend. */
export const MIN_POINTS = 4;

export function analyseGrowth(timeline: Timeline): GrowthAnalysis {
  const points = timeline.times.length;
  if (points < MIN_POINTS) {
    return {
      growth: [],
      notGrowing: [],
      note: `the timeline has ${points} point${points === 1 ? '' : 's'}: at least ${MIN_POINTS} are needed to tell growth from noise (trace longer, or a shorter --timeline interval)`,
    };
  }
  const judged = timeline.stacks
    .filter((stack) => stack.allocatedBytes.at(-1)! > 0)
    .map((stack) => {
      // From the point before its first allocation: a path that began allocating late in the trace
      // has its rate since then, not diluted by the time before it ran.
      const from = Math.max(0, Math.min(stack.allocatedBytes.findIndex((bytes) => bytes > 0) - 1, timeline.times.length - MIN_POINTS));
      return judge(stack.frames, timeline.times.slice(from), stack.outstandingBytes.slice(from), stack.allocatedBytes.at(-1)!);
    });
  const growth = judged.filter((stack) => stack.kind === 'steady-growth' || stack.kind === 'growth');
  const gained = growth.reduce((sum, stack) => sum + Math.max(0, stack.endBytes), 0);
  for (const stack of growth) stack.shareOfGrowth = gained > 0 ? stack.endBytes / gained : 0;
  growth.sort((a, b) => rank(a) - rank(b) || b.fit * b.bytesPerSecond - a.fit * a.bytesPerSecond);
  const notGrowing = judged.filter((stack) => !growth.includes(stack)).sort((a, b) => b.peakBytes - a.peakBytes);
  return { growth, notGrowing, note: null };
}

function rank(stack: StackGrowth): number {
  return stack.kind === 'steady-growth' ? 0 : 1;
}

function judge(frames: Frame[], times: number[], outstanding: number[], allocatedBytes: number): StackGrowth {
  const line = fitLine(times, outstanding);
  const recentFrom = Math.min(times.length - 3, Math.floor((times.length * 2) / 3));
  const recent = fitLine(times.slice(recentFrom), outstanding.slice(recentFrom));
  const endBytes = outstanding.at(-1)!;
  const peakBytes = Math.max(...outstanding);
  const churns = allocatedBytes >= CHURN_RATIO * Math.max(peakBytes, 1);
  let kind: GrowthKind;
  const rising = line.slope > 0 && endBytes > RELEASED_SHARE * peakBytes && recent.slope >= STILL_GROWING * line.slope;
  if (rising && line.fit >= STEADY_FIT) kind = 'steady-growth';
  else if (churns) kind = 'churn';
  else if (rising) kind = 'growth';
  else if (peakBytes > 0 && endBytes <= RELEASED_SHARE * peakBytes) kind = 'released';
  else if (peakBytes > 0 && line.slope > 0 && recent.slope < STILL_GROWING * line.slope) kind = 'plateau';
  else kind = 'flat';
  return {
    frames,
    kind,
    bytesPerSecond: line.slope,
    fit: line.fit,
    recentBytesPerSecond: recent.slope,
    shareOfGrowth: 0,
    endBytes,
    peakBytes,
    allocatedBytes,
  };
}

/** The least-squares line through the points: its slope, and R² (0 when the values do not vary). */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; fit: number } {
  const n = xs.length;
  const meanX = xs.reduce((sum, x) => sum + x, 0) / n;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - meanX;
    const dy = ys[i]! - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return { slope: 0, fit: 0 };
  const slope = sxy / sxx;
  return { slope, fit: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}
