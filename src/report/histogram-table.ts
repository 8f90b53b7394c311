// A histogram as bpftrace draws one: a bucket a line, `[low, high)`, the count and a bar of `@`,
// for bpftrace's hist() (power-of-two buckets, labels 512, 1K, 4M…) and lhist() (linear buckets,
// out-of-range buckets shown as `(..., low)` and `[high, ...)`).
import type { Log2Bucket } from '../model/histogram.js';
import { formatCount, formatPowerOfTwo } from './units.js';

export function renderHistogramLines(title: string, buckets: readonly Log2Bucket[], width = 80): string[] {
  if (buckets.length === 0) return [title, '  (no values)'];
  const labels = buckets.map(bucketLabel);
  const labelWidth = Math.max(...labels.map((text) => text.length));
  const counts = buckets.map((bucket) => formatCount(bucket.count));
  const countWidth = Math.max(...counts.map((text) => text.length));
  const barWidth = Math.max(10, width - labelWidth - countWidth - 4);
  const max = Math.max(...buckets.map((bucket) => bucket.count));
  const lines = [title];
  buckets.forEach((bucket, index) => {
    const bar = '@'.repeat(max === 0 ? 0 : Math.round((bucket.count / max) * barWidth));
    lines.push(`${labels[index]!.padEnd(labelWidth)} ${counts[index]!.padStart(countWidth)} |${bar.padEnd(barWidth)}|`);
  });
  return lines;
}

function bucketLabel(bucket: Log2Bucket): string {
  if (bucket.low === Number.NEGATIVE_INFINITY) return `(..., ${bound(bucket.high)})`;
  if (bucket.high === Number.POSITIVE_INFINITY) return `[${bound(bucket.low)}, ...)`;
  if (bucket.high - bucket.low === 1) return `[${bound(bucket.low)}]`;
  return `[${bound(bucket.low)}, ${bound(bucket.high)})`;
}

function bound(value: number): string {
  return value < 0 ? `-${formatPowerOfTwo(-value)}` : formatPowerOfTwo(value);
}
