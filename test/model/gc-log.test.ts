import test from 'ava';
import {
  gcKindOf,
  gcLogToSeries,
  gcMarks,
  percentile,
  reasonName,
  summarizeGcCollections,
  type GcCollection,
  type GcLog,
} from '../../src/model/gc-log.js';

function collection(kind: GcCollection['kind'], pauseMs: number, startSeconds = 0): GcCollection {
  return { kind, reason: 'testing', pauseMs, rssAfterBytes: 4096, rssBeforeBytes: 4096, startSeconds, tid: 1 };
}

test('summary by kind: count, total, nearest-rank p50/p99, max; kinds in a fixed order', (t) => {
  // given 23 mark-compacts of 1..23 ms and 2 scavenges
  const collections = [
    ...Array.from({ length: 23 }, (_, i) => collection('mark-compact', 23 - i)),
    collection('scavenge', 0.5),
    collection('scavenge', 0.25),
  ];
  // when
  const summary = summarizeGcCollections(collections);
  // then
  t.deepEqual(summary, [
    { kind: 'scavenge', count: 2, totalPauseMs: 0.75, p50PauseMs: 0.25, p99PauseMs: 0.5, maxPauseMs: 0.5 },
    { kind: 'mark-compact', count: 23, totalPauseMs: 276, p50PauseMs: 12, p99PauseMs: 23, maxPauseMs: 23 },
  ]);
});

test('percentile of nothing is 0; of one value, that value', (t) => {
  t.is(percentile([], 0.5), 0);
  t.is(percentile([7], 0.99), 7);
});

test('kinds: V8 11.3 GarbageCollector numbers for symbol probes, v8::GCType bits for USDT ones', (t) => {
  t.deepEqual(
    [0, 1, 2, 3].map((n) => gcKindOf('symbol', n)),
    ['scavenge', 'mark-compact', 'minor-mark-compact', 'unknown'],
  );
  t.deepEqual(
    [1, 2, 4, 8, 16, 0, 5].map((n) => gcKindOf('usdt', n)),
    ['scavenge', 'minor-mark-compact', 'mark-compact', 'incremental-marking', 'weak-callbacks', 'unknown', 'mark-compact'],
  );
});

test("reasons in the words of V8's --trace-gc; unknown numbers shown as such; none stays null", (t) => {
  t.is(reasonName(1), 'allocation failure');
  t.is(reasonName(8), 'finalize incremental marking via stack guard');
  t.is(reasonName(21), 'testing');
  t.is(reasonName(99), 'reason 99');
  t.is(reasonName(null), null);
});

const LOG: GcLog = {
  header: {
    tool: 'gc',
    target: { pid: 42, command: ['node', 'app.js'] },
    binary: '/usr/bin/node',
    probe: { kind: 'usdt' },
    host: 'h',
    startedAt: '2026-01-01T00:00:00.000Z',
    tracer: { name: 'bpftrace', version: '0.17.0' },
  },
  collections: [collection('scavenge', 2, 1), { ...collection('mark-compact', 500, 2), rssAfterBytes: 8192 }],
  summary: [],
  durationSeconds: 3,
  partialReason: null,
  lostEvents: 0,
  badLines: 0,
  noiseLines: 0,
  notes: [],
};

test('as a Series: one sample per collection at its end (RSS after), one mark per mark-compact', (t) => {
  const series = gcLogToSeries(LOG);
  t.deepEqual(
    series.samples.map((s) => [s.elapsed, s.rss, s.t]),
    [
      [1.002, 4096, '2026-01-01T00:00:01.002Z'],
      [2.5, 8192, '2026-01-01T00:00:02.500Z'],
    ],
  );
  t.deepEqual(
    series.marks.map((m) => [m.elapsed, m.text]),
    [[2, 'mark-compact 500.0 ms (testing)']],
  );
  t.is(series.header.target.pid, 42);
  t.deepEqual(series.header.target.command, ['node', 'app.js']);
});

test('marks for another series are timed against its start (wall clocks)', (t) => {
  t.deepEqual(
    gcMarks(LOG, Date.parse('2025-12-31T23:59:59.000Z')).map((m) => m.elapsed),
    [3],
  );
});
