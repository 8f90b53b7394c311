// Outstanding bytes by stack over time (`malloc --timeline`): the program prints, at each interval,
// every stack's bytes allocated and bytes freed since the attach (cumulative sums kept in the
// kernel); a TimelineRecorder keeps those snapshots in bounded memory, and the profile's `timeline`
// is the series it returns. Outstanding = allocated - freed, counting only blocks allocated while
// traced: a block from before the attach is in neither sum when it is freed.
import type { Frame } from './stack-profile.js';

/** The `timeline` of a malloc or external profile (docs/tools/malloc.md's json contract). */
export interface Timeline {
  /** The wall-clock moment of the first point (ISO 8601), when memtrace saw the trace live; null otherwise. */
  startedAt: string | null;
  /** Seconds between two points: the --timeline interval times `downsampleFactor`. */
  intervalSeconds: number;
  /** The --timeline interval asked for. */
  requestedIntervalSeconds: number;
  /** 1, or the power of two by which memtrace thinned the points to keep at most `maxPoints`. */
  downsampleFactor: number;
  maxPoints: number;
  /** Seconds since the trace began, one per point, rising. */
  times: number[];
  stacks: TimelineStack[];
}

export interface TimelineStack {
  /** Root first. */
  frames: Frame[];
  /** At each point: bytes of the blocks this stack allocated while traced and not freed yet. */
  outstandingBytes: number[];
  /** At each point: bytes this stack allocated since the trace began (their sum, freed or not). */
  allocatedBytes: number[];
}

/** One snapshot as the program printed it: cumulative bytes allocated and freed, by stack key. */
export interface TimelineSnapshot {
  /** Seconds since the trace began. */
  seconds: number;
  allocated: ReadonlyMap<string, number>;
  freed: ReadonlyMap<string, number>;
}

/** The series of one stack key, before its frames are known. */
export interface RecordedSeries {
  key: string;
  outstandingBytes: number[];
  allocatedBytes: number[];
}

/** How many points a timeline keeps by default: 512 × 10 s is 85 minutes at full resolution. */
export const DEFAULT_MAX_POINTS = 512;

/**
 * Keeps the snapshots of a trace of any length in bounded memory: at most `maxPoints` points for at
 * most the stacks the program's maps hold. When the points fill up, every second one is dropped
 * (the later of each pair stays: the sums are cumulative, so a kept point loses nothing of what came
 * before it) and from then on only every second snapshot is kept; the factor doubles each time.
 */
export class TimelineRecorder {
  /** The trace's start is the first point: nothing allocated while traced is outstanding yet. */
  private readonly times: number[] = [0];
  private readonly series = new Map<string, { outstanding: number[]; allocated: number[] }>();
  private factor = 1;
  /** Snapshots seen since the last one kept. */
  private skipped = 0;
  private snapshots = 0;
  /** The latest snapshot, while it is not kept: the end's is kept whatever the thinning. */
  private pending: TimelineSnapshot | null = null;

  constructor(
    readonly requestedIntervalSeconds: number,
    readonly maxPoints: number = DEFAULT_MAX_POINTS,
  ) {
    if (!Number.isInteger(maxPoints) || maxPoints < 4 || maxPoints % 2 !== 0)
      throw new RangeError('maxPoints: an even whole number from 4');
  }

  /** Every snapshot the program printed, in order; the last (the end's) is always kept. */
  add(snapshot: TimelineSnapshot): void {
    this.snapshots += 1;
    this.pending = snapshot;
    this.skipped += 1;
    if (this.skipped < this.factor) return;
    if (this.times.length === this.maxPoints) {
      this.halve();
      // The points kept are now `factor` snapshots apart: this one may fall between two.
      if (this.skipped < this.factor) return;
    }
    this.keep(snapshot);
  }

  /** The snapshots that arrived, kept or not. */
  get snapshotCount(): number {
    return this.snapshots;
  }

  /** The series by stack key, with the last snapshot included even when thinning would skip it. */
  finish(): { times: number[]; series: RecordedSeries[]; downsampleFactor: number; intervalSeconds: number } {
    if (this.pending !== null && this.skipped > 0) {
      if (this.times.length === this.maxPoints) this.halve();
      this.keep(this.pending);
    }
    return {
      times: [...this.times],
      series: [...this.series].map(([key, { outstanding, allocated }]) => ({
        key,
        outstandingBytes: [...outstanding],
        allocatedBytes: [...allocated],
      })),
      downsampleFactor: this.factor,
      intervalSeconds: this.requestedIntervalSeconds * this.factor,
    };
  }

  private keep(snapshot: TimelineSnapshot): void {
    this.skipped = 0;
    this.pending = null;
    const index = this.times.length;
    this.times.push(snapshot.seconds);
    for (const [key, allocated] of snapshot.allocated) {
      let entry = this.series.get(key);
      if (entry === undefined) {
        // A stack first seen now had allocated nothing at the earlier points.
        entry = { outstanding: new Array<number>(index).fill(0), allocated: new Array<number>(index).fill(0) };
        this.series.set(key, entry);
      }
      entry.allocated.push(allocated);
      entry.outstanding.push(allocated - (snapshot.freed.get(key) ?? 0));
    }
    // A stack missing from this snapshot (a map that lost it) keeps its last figures.
    for (const entry of this.series.values()) {
      if (entry.allocated.length === index) {
        entry.allocated.push(entry.allocated[index - 1] ?? 0);
        entry.outstanding.push(entry.outstanding[index - 1] ?? 0);
      }
    }
  }

  private halve(): void {
    const odd = <T>(values: T[]) => values.filter((_, index) => index % 2 === 1);
    const times = odd(this.times);
    this.times.length = 0;
    this.times.push(...times);
    for (const entry of this.series.values()) {
      entry.outstanding = odd(entry.outstanding);
      entry.allocated = odd(entry.allocated);
    }
    this.factor *= 2;
  }
}
