import test from 'ava';
import { renderHistogramLines } from '../../src/report/histogram-table.js';

test('hist buckets: bpftrace labels, counts and bars scaled to the largest', (t) => {
  t.deepEqual(
    renderHistogramLines(
      '@sizes (hist)',
      [
        { low: 0, high: 1, count: 0 },
        { low: 512, high: 1024, count: 23 },
        { low: 1024, high: 2048, count: 11 },
      ],
      40,
    ),
    // 40 columns: 9 for the label, 2 for the count, 25 for the bar; 11 / 23 of 25 is 12 @.
    [
      '@sizes (hist)',
      '[0]        0 |                         |',
      '[512, 1K) 23 |@@@@@@@@@@@@@@@@@@@@@@@@@|',
      '[1K, 2K)  11 |@@@@@@@@@@@@             |',
    ],
  );
});

test("lhist's out-of-range buckets and negative bounds", (t) => {
  const lines = renderHistogramLines(
    '@l (lhist)',
    [
      { low: Number.NEGATIVE_INFINITY, high: -64, count: 1 },
      { low: -64, high: 0, count: 2 },
      { low: 128, high: Number.POSITIVE_INFINITY, count: 3 },
    ],
    40,
  );
  t.deepEqual(
    lines.map((line) => line.split(' |')[0]),
    ['@l (lhist)', '(..., -64) 1', '[-64, 0)   2', '[128, ...) 3'],
  );
});

test('no buckets', (t) => {
  t.deepEqual(renderHistogramLines('@empty (hist)', []), ['@empty (hist)', '  (no values)']);
});
