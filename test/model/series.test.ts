import test from 'ava';
import { decimationNote, heapCoverageNote, SeriesBuilder, summarizeSeries, type SeriesSample } from '../../src/model/series.js';

const HEADER = {
  type: 'header' as const,
  tool: 'process' as const,
  version: 1 as const,
  source: 'memtrace' as const,
  target: { pid: 7 },
  interval: 1,
  host: 'h',
  platform: 'linux',
  start: '2026-01-01T00:00:00.000Z',
};

function sample(index: number, rss: number): SeriesSample {
  return { t: new Date(Date.parse(HEADER.start) + index * 1000).toISOString(), elapsed: index, pid: 7, rss };
}

function build(rssValues: number[], maxSamples: number) {
  const builder = new SeriesBuilder(maxSamples);
  builder.add(HEADER);
  rssValues.forEach((rss, index) => builder.add({ type: 'sample', ...sample(index, rss) }));
  return builder.build();
}

test('under the bound every sample is kept and nothing is said', (t) => {
  // given 23 samples and room for 23
  const series = build(
    Array.from({ length: 23 }, (_, index) => 1000 + index),
    23,
  );
  // then
  t.is(series.samples.length, 23);
  t.is(series.decimation, undefined);
  t.is(decimationNote(series), null);
});

test('past the bound: first, peak and last are exact, each kept sample is the highest of its run, memory stays bounded', (t) => {
  // given 1,009 samples (a prime), a peak at 613, room for 16
  const rss = Array.from({ length: 1009 }, (_, index) => 10_000 + ((index * 37) % 101));
  rss[613] = 99_999;
  // when
  const series = build(rss, 16);
  // then
  t.true(series.samples.length <= 16 + 2, `${series.samples.length} kept`);
  t.deepEqual(series.samples[0], sample(0, rss[0]!));
  t.deepEqual(series.samples.at(-1), sample(1008, rss[1008]!));
  t.true(series.samples.some((kept) => kept.elapsed === 613 && kept.rss === 99_999));
  t.deepEqual(series.decimation, { read: 1009, every: 64 });
  const elapsed = series.samples.map((kept) => kept.elapsed);
  t.deepEqual(
    elapsed,
    [...elapsed].sort((a, b) => a - b),
    'kept in time order',
  );
  // each kept sample between the first and the last is the maximum of its run of 64 (runs start after sample 0)
  for (const kept of series.samples.slice(1, -1)) {
    const runStart = 1 + Math.floor((kept.elapsed - 1) / 64) * 64;
    const run = rss.slice(runStart, Math.min(runStart + 64, 1008));
    t.is(kept.rss, Math.max(...run), `sample at ${kept.elapsed}`);
  }
  const summary = summarizeSeries(series);
  t.is(summary.samples, 1009, 'the summary counts what was read');
  t.is(summary.peak?.rss, 99_999);
  t.is(
    decimationNote(series),
    `memory bounded: 1,009 samples read, ${series.samples.length} kept (the highest RSS of each 64 in a row; start, peak and end exact)`,
  );
});

test('a bound below 2 is refused', (t) => {
  t.throws(() => new SeriesBuilder(1), { message: /maxSamples must be an integer ≥ 2, got 1/ });
});

test('heap coverage: said when samples lack figures, with the reason; nothing when all have them or none were expected', (t) => {
  // given a series of 23 samples whose stop record counts them
  const series = build(
    Array.from({ length: 23 }, () => 1000),
    30,
  );
  const stop = { t: HEADER.start, elapsed: 23, reason: 'target-exited' as const, samples: 23, missed: 0 };
  // then
  t.is(heapCoverageNote(series), null, 'no figures expected');
  series.stop = { ...stop, heap: { samples: 23, beforeFirst: 0, late: 0, via: 'inspector' } };
  t.is(heapCoverageNote(series), null, 'every sample has them');
  series.stop = { ...stop, heap: { samples: 19, beforeFirst: 1, late: 3, via: 'inspector', why: 'no figures from the last 250 ms' } };
  t.is(
    heapCoverageNote(series),
    "heap figures in 19 of 23 samples; 1 before the program's first figures (Node starting); 3 without fresh figures: no figures from the last 250 ms",
  );
  series.stop = { ...stop, heap: { samples: 0, beforeFirst: 23, late: 0, via: 'none', why: 'the program never reported' } };
  t.is(heapCoverageNote(series), 'heap figures in 0 of 23 samples: the program never reported');
  // a cut log: counted from the samples
  series.stop = null;
  series.header.heap = true;
  series.samples[0]!.heapUsed = 5;
  t.is(heapCoverageNote(series), 'heap figures in 1 of 23 samples (the log is cut: no count of why)');
});
