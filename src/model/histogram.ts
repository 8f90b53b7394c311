// Power-of-two histograms, as bpftrace's hist() buckets them: [0, 1), [1, 2), [2, 4), [4, 8), …
// A bucket's `high` is exclusive. lhist()'s linear buckets ([0, 64), [64, 128), …) take the same
// shape; its out-of-range buckets are unbounded: low -Infinity or high +Infinity (null in json).

export interface Log2Bucket {
  low: number;
  high: number;
  count: number;
}

export interface Log2Histogram {
  unit: 'bytes' | 'count' | 'nanoseconds';
  buckets: Log2Bucket[];
}
