import test from 'ava';
import type { GcLogHeader } from '../../../src/model/gc-log.js';
import type { GcRaw } from '../../../src/parse/gc-log.js';
import { reduceGc } from '../../../src/tools/gc/reduce.js';

const HEADER: GcLogHeader = {
  tool: 'gc',
  target: { pid: 7, command: null },
  binary: '/usr/bin/node',
  probe: { kind: 'usdt' },
  host: 'h',
  startedAt: '2026-01-01T00:00:00.000Z',
  tracer: { name: 'bpftrace', version: '0.17.0' },
};

function raw(overrides: Partial<GcRaw> = {}): GcRaw {
  return {
    beginNs: 1_000_000_000,
    endNs: 4_000_000_000,
    collections: [
      { startNs: 1_500_000_000, pauseNs: 2_345_678, tid: 7, collector: 4, reason: null, rssBeforeBytes: 8192, rssAfterBytes: 4096 },
      { startNs: 2_000_000_000, pauseNs: 1_000, tid: 8, collector: 1, reason: null, rssBeforeBytes: 4096, rssAfterBytes: 4096 },
    ],
    lostEvents: 0,
    noiseLines: 1,
    lines: { malformed: 0, foreign: 0 },
    truncated: false,
    header: null,
    trailer: null,
    ...overrides,
  };
}

test('numbers become kinds by the probe that wrote them, nanoseconds milliseconds and seconds since the begin', (t) => {
  // given USDT records (GCType bits: 4 mark-compact, 1 scavenge)
  // when
  const log = reduceGc(raw(), { header: HEADER, partialReason: null, notes: [] });
  // then
  t.deepEqual(
    log.collections.map((c) => [c.kind, c.pauseMs, c.startSeconds, c.reason]),
    [
      ['mark-compact', 2.345678, 0.5, null],
      ['scavenge', 0.001, 1, null],
    ],
  );
  t.is(log.durationSeconds, 3);
  t.is(log.partialReason, null);
});

test("the live session's reason wins, then the raw log's trailer, then what the log itself shows", (t) => {
  const trailer = { partialReason: 'interrupted by SIGINT: the collections until then', durationSeconds: 9, notes: ['saved note'] };
  t.is(
    reduceGc(raw({ endNs: null }), { header: HEADER, partialReason: 'bpftrace was killed by SIGKILL', notes: [] }).partialReason,
    'bpftrace was killed by SIGKILL',
  );
  const fromTrailer = reduceGc(raw({ trailer }), { header: HEADER, partialReason: null, notes: ['live note'] });
  t.is(fromTrailer.partialReason, trailer.partialReason);
  t.deepEqual(fromTrailer.notes, ['live note', 'saved note']);
  const cut = reduceGc(raw({ endNs: null, trailer: { durationSeconds: 9 } }), { header: HEADER, partialReason: null, notes: [] });
  t.is(cut.partialReason, 'the trace ends before memtrace:end (bpftrace was killed, or the log was cut)');
  t.is(cut.durationSeconds, 9);
  t.is(
    reduceGc(raw({ endNs: null, truncated: true }), { header: HEADER, partialReason: null, notes: [] }).partialReason,
    'the trace ends in the middle of a record (the log was cut)',
  );
});

test("a raw log's saved header fills the header; other output is noted", (t) => {
  const saved = { target: { pid: 99, command: ['node', 'x.js'] }, probe: { kind: 'symbol', symbol: '_Z1f', demangled: 'f()' } };
  const log = reduceGc(raw({ header: saved, lines: { malformed: 0, foreign: 3 } }), { header: HEADER, partialReason: null, notes: [] });
  t.deepEqual(log.header.target, saved.target);
  t.is(log.header.binary, '/usr/bin/node');
  // Read as the symbol probe's numbers now: 4 is no GarbageCollector.
  t.deepEqual(
    log.collections.map((c) => c.kind),
    ['unknown', 'mark-compact'],
  );
  t.deepEqual(log.notes, ["3 lines of other output (the target's own, in a hand-run log) were not gc records"]);
});
