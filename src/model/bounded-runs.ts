// A list kept in bounded memory however many items come in: the first item is always kept; past
// `max` kept items, consecutive items are taken in runs (of 2, then 4, 8… each time the bound is
// reached again) and each run is reduced to its one most telling item, chosen by `prefer`. Used by
// the Series (the highest RSS of a run) and the CallLog (the largest RSS move of a run).
export class BoundedRuns<T> {
  private readonly kept: T[] = [];
  /** Items pushed, and how many consecutive ones each kept item stands for. */
  private count = 0;
  private every = 1;
  /** The preferred item of the run under way, and the run's length so far. */
  private pending: T | null = null;
  private pendingCount = 0;

  /** `prefer(candidate, held)`: whether `candidate` should replace `held` as its run's item (ties keep the earlier). */
  constructor(
    private readonly max: number,
    private readonly prefer: (candidate: T, held: T) => boolean,
    /** Names the bound in the error for a bad one ("SeriesBuilder: maxSamples"). */
    what = 'BoundedRuns: max',
  ) {
    if (!(Number.isInteger(max) && max >= 2)) throw new Error(`${what} must be an integer ≥ 2, got ${max}`);
  }

  /** Items pushed so far, and the length of a run (1 while nothing was left out). */
  get read(): number {
    return this.count;
  }
  get runLength(): number {
    return this.every;
  }

  push(item: T): void {
    this.count += 1;
    if (this.count === 1) {
      this.kept.push(item);
      return;
    }
    if (this.pending === null || this.prefer(item, this.pending)) this.pending = item;
    this.pendingCount += 1;
    if (this.pendingCount === this.every) {
      this.kept.push(this.pending);
      this.pending = null;
      this.pendingCount = 0;
      if (this.kept.length > this.max) this.halve();
    }
  }

  /** The kept items in order, the run under way's included. */
  items(): T[] {
    return this.pending === null ? [...this.kept] : [...this.kept, this.pending];
  }

  /** Merges kept items two by two (the first stays alone), keeping the preferred of each pair. */
  private halve(): void {
    let write = 1;
    for (let read = 1; read + 1 < this.kept.length; read += 2) {
      const [a, b] = [this.kept[read]!, this.kept[read + 1]!];
      this.kept[write++] = this.prefer(b, a) ? b : a;
    }
    // An odd item left over stands for one old run: it starts the next, longer run.
    const leftover = (this.kept.length - 1) % 2 === 1 ? this.kept[this.kept.length - 1]! : null;
    this.kept.length = write;
    this.every *= 2;
    if (leftover !== null) {
      this.pending = leftover;
      this.pendingCount = this.every / 2;
    }
  }
}
