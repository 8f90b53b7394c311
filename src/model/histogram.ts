// Power-of-two histograms, as bpftrace's hist() buckets them: [0], [1], [2, 4), [4, 8), …
// A bucket's `high` is exclusive; the first bucket holds exactly the value 0.

export interface Log2Bucket {
  low: number;
  high: number;
  count: number;
}

export interface Log2Histogram {
  unit: 'bytes' | 'count' | 'nanoseconds';
  buckets: Log2Bucket[];
}

export function emptyHistogram(unit: Log2Histogram['unit'] = 'bytes'): Log2Histogram {
  return { unit, buckets: [] };
}

/** The bucket bounds a value falls in, matching bpftrace's hist(). */
export function log2BucketOf(value: number): { low: number; high: number } {
  if (value <= 0) return { low: 0, high: 1 };
  let low = 1;
  while (low * 2 <= value) low *= 2;
  return { low, high: low * 2 };
}

/** Adds `count` at each bucket, keeping buckets sorted and merged. */
export function addToHistogram(histogram: Log2Histogram, low: number, high: number, count: number): void {
  const existing = histogram.buckets.find((bucket) => bucket.low === low && bucket.high === high);
  if (existing) {
    existing.count += count;
    return;
  }
  histogram.buckets.push({ low, high, count });
  histogram.buckets.sort((a, b) => a.low - b.low);
}

export function histogramTotal(histogram: Log2Histogram): number {
  return histogram.buckets.reduce((sum, bucket) => sum + bucket.count, 0);
}
