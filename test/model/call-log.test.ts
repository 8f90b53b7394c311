import test from 'ava';
import {
  callLogDecimationNote,
  CallEventKeeper,
  isBaseline,
  rankFunctionsByGrowth,
  summarizeCallLog,
  type CallEvent,
  type CallLog,
} from '../../src/model/call-log.js';

let number = 0;
function event(fields: Partial<CallEvent> & Pick<CallEvent, 'function' | 'rss' | 'drss'>): CallEvent {
  return { event: 'RETURN', file: 'app.py', line: 1, number: number++, clock: null, role: 'next', ...fields };
}

function log(events: CallEvent[]): CallLog {
  return {
    header: {
      tool: 'calls',
      source: 'memtrace',
      mode: null,
      target: null,
      start: null,
      host: null,
      clock: null,
      message: null,
      trigger: null,
      lostEvents: null,
    },
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

test('CallEventKeeper past its bound: first, last and peak kept in order, each run keeps its largest move, the counts exact', (t) => {
  // given 1,009 events (a prime) with RSS moving by (index * 37) % 101 pages, a peak at 613, room for 16
  const page = 4096;
  const events: CallEvent[] = [];
  let rss = 10 * 1024 * 1024;
  for (let index = 0; index < 1009; index += 1) {
    const drss = index === 0 ? rss : index === 613 ? 500 * page : (((index * 37) % 101) - 50) * page;
    rss = index === 0 ? rss : rss + drss;
    events.push({
      event: index % 2 === 0 ? 'CALL' : 'RETURN',
      file: 'f.py',
      line: index,
      function: `fn${index % 7}`,
      rss,
      drss,
      number: index,
      clock: null,
      role: index === 0 ? 'first' : 'next',
    });
  }
  // when
  const keeper = new CallEventKeeper(16);
  for (const event of events) keeper.push(event);
  const kept = keeper.finish();
  // then
  t.true(kept.events.length <= 16 + 3, `${kept.events.length} kept`);
  t.is(kept.events[0], events[0]);
  t.is(kept.events.at(-1), events[1008]);
  const peak = events.reduce((best, event) => (event.rss > best.rss ? event : best));
  t.true(kept.events.includes(peak));
  const numbers = kept.events.map((event) => event.number);
  t.deepEqual(
    numbers,
    [...numbers].sort((a, b) => a - b),
    'kept in log order',
  );
  t.deepEqual(kept.decimation, { read: 1009, every: 64 });
  // (the peak and the last are added in their place whatever their run kept)
  for (const event of kept.events.slice(1, -1).filter((candidate) => candidate !== peak)) {
    const start = 1 + Math.floor((event.number - 1) / 64) * 64;
    const run = events.slice(start, Math.min(start + 64, 1009));
    t.is(
      Math.abs(event.drss),
      Math.max(...run.map((candidate) => Math.abs(candidate.drss))),
      `event ${event.number} is its run's largest move`,
    );
  }
  t.deepEqual(kept.functions, rankFunctionsByGrowth(events), 'the ranking counts every event');
  t.is(kept.summary?.events, 1009);
  t.is(kept.summary?.peak, peak);
  const log: CallLog = {
    header: {
      tool: 'calls',
      source: 'memtrace',
      mode: null,
      target: null,
      start: null,
      host: null,
      clock: null,
      message: null,
      trigger: null,
      lostEvents: null,
    },
    messages: [],
    partial: false,
    partialReason: null,
    repeatedContext: 0,
    badLines: 0,
    ...kept,
  };
  t.regex(callLogDecimationNote(log)!, /^memory bounded: 1,009 events read, \d+ kept \(the largest RSS move of each 64 in a row/);
});

test('CallEventKeeper under its bound keeps every event and adds nothing', (t) => {
  const keeper = new CallEventKeeper(23);
  const events: CallEvent[] = Array.from({ length: 23 }, (_, index) => ({
    event: 'CALL',
    file: '',
    line: 0,
    function: 'f',
    rss: 4096 * (index + 1),
    drss: 4096,
    number: index,
    clock: null,
    role: 'next',
  }));
  for (const event of events) keeper.push(event);
  t.deepEqual(keeper.finish(), { events });
});
