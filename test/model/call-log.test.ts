import test from 'ava';
import { isBaseline, rankFunctionsByGrowth, summarizeCallLog, type CallEvent, type CallLog } from '../../src/model/call-log.js';

let number = 0;
function event(fields: Partial<CallEvent> & Pick<CallEvent, 'function' | 'rss' | 'drss'>): CallEvent {
  return { event: 'RETURN', file: 'app.py', line: 1, number: number++, clock: null, role: 'next', ...fields };
}

function log(events: CallEvent[]): CallLog {
  return {
    header: { tool: 'calls', source: 'memtrace', mode: null, target: null, start: null, host: null, clock: null, message: null, trigger: null, lostEvents: null },
    events,
    partial: false,
    partialReason: null,
    messages: [],
    repeatedContext: 0,
    badLines: 0,
  };
}

test('functions ranked by RSS growth: the sum of positive ΔRSS per function, the baseline left out', (t) => {
  // given: a first reading from 0, 23 events of grow adding one page each, 7 of release giving two back
  const events = [event({ function: 'main', event: 'LINE', rss: 8_388_608, drss: 8_388_608, role: 'first' })];
  let rss = 8_388_608;
  for (let i = 0; i < 23; i += 1) events.push(event({ function: 'grow', rss: (rss += 4096), drss: 4096 }));
  for (let i = 0; i < 7; i += 1) events.push(event({ function: 'release', rss: (rss -= 8192), drss: -8192 }));
  // when
  const ranked = rankFunctionsByGrowth(events);
  // then
  t.deepEqual(ranked, [
    { function: 'grow', file: 'app.py', growth: 23 * 4096, shrink: 0, events: 23, growthEvents: 23 },
    { function: 'release', file: 'app.py', growth: 0, shrink: -7 * 8192, events: 7, growthEvents: 0 },
    { function: 'main', file: 'app.py', growth: 0, shrink: 0, events: 1, growthEvents: 0 },
  ]);
});

test('a function is its name in its file; mixed moves add up apart; ties go to more events, then by name', (t) => {
  // given
  const events = [
    event({ function: 'load', file: 'a.py', rss: 20_000, drss: 4096 }),
    event({ function: 'load', file: 'b.py', rss: 24_096, drss: 4096 }),
    event({ function: 'load', file: 'b.py', rss: 20_000, drss: -4096 }),
    event({ function: 'alpha', file: 'c.py', rss: 24_096, drss: 4096 }),
    event({ function: 'load', file: 'a.py', rss: 28_192, drss: 4096 }),
  ];
  // when
  const ranked = rankFunctionsByGrowth(events);
  // then
  t.deepEqual(
    ranked.map((entry) => [entry.file, entry.function, entry.growth, entry.shrink, entry.events]),
    [
      ['a.py', 'load', 8192, 0, 2],
      ['b.py', 'load', 4096, -4096, 2],
      ['c.py', 'alpha', 4096, 0, 1],
    ],
  );
});

test('a baseline is a ΔRSS equal to the whole RSS (no reading before); an empty list ranks nothing', (t) => {
  t.true(isBaseline(event({ function: 'f', rss: 9_736_192, drss: 9_736_192 })));
  t.false(isBaseline(event({ function: 'f', rss: 9_736_192, drss: 65_536 })));
  t.false(isBaseline(event({ function: 'f', rss: 0, drss: 0 })));
  t.deepEqual(rankFunctionsByGrowth([]), []);
});

test('the summary: count, first, last, the first event at the peak, kinds in order of appearance', (t) => {
  // given
  const events = [
    event({ function: 'main', event: 'LINE', rss: 100, drss: 100 }),
    event({ function: 'f', event: 'CALL', rss: 300, drss: 200 }),
    event({ function: 'g', event: 'C_CALL', rss: 300, drss: 0 }),
    event({ function: 'f', event: 'CALL', rss: 200, drss: -100 }),
  ];
  // when
  const summary = summarizeCallLog(log(events));
  // then
  t.is(summary.events, 4);
  t.is(summary.first, events[0]);
  t.is(summary.last, events[3]);
  t.is(summary.peak, events[1]);
  t.deepEqual(summary.kinds, [
    { event: 'LINE', count: 1 },
    { event: 'CALL', count: 2 },
    { event: 'C_CALL', count: 1 },
  ]);
  t.like(summarizeCallLog(log([])), { events: 0, first: null, last: null, peak: null });
});
