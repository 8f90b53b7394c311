// The timeline recorder (bounded memory for traces of any length) and the growth analysis, on
// series whose shape is known: a steady leak, churn, a pool that fills and holds, a burst released.
import test from 'ava';
import { analyseGrowth, fitLine, MIN_POINTS } from '../../src/model/growth.js';
import { TimelineRecorder, type Timeline } from '../../src/model/timeline.js';

/** Snapshots every `interval` s for `seconds` s of four paths; cumulative bytes as the program prints them. */
function fourPaths(interval: number, seconds: number): Timeline {
  const recorder = new TimelineRecorder(interval);
  const ticks = Math.round(seconds / interval);
  for (let tick = 1; tick <= ticks; tick++) {
    const t = tick * interval;
    const allocated = new Map<string, number>();
    const freed = new Map<string, number>();
    // A leak of 64,000 B/s, never freed.
    allocated.set('leak', Math.round(64_000 * t));
    // 64 KiB allocated and freed 10 times a second: seen held at every other snapshot.
    const churned = Math.round(t * 10) * 65_536;
    allocated.set('churn', churned);
    freed.set('churn', tick % 2 === 0 ? churned : churned - 65_536);
    // A pool of 1 MiB filled over the first 2 s, held after.
    allocated.set('pool', Math.round(1_048_576 * Math.min(1, t / 2)));
    // 4 MiB allocated at 3 s, freed at 6 s.
    if (t >= 3) allocated.set('burst', 4_194_304);
    if (t >= 6) freed.set('burst', 4_194_304);
    recorder.add({ seconds: t, allocated, freed });
  }
  const recorded = recorder.finish();
  return {
    startedAt: null,
    intervalSeconds: recorded.intervalSeconds,
    requestedIntervalSeconds: interval,
    downsampleFactor: recorded.downsampleFactor,
    maxPoints: recorder.maxPoints,
    times: recorded.times,
    stacks: recorded.series.map((series) => ({
      frames: [{ name: series.key }],
      outstandingBytes: series.outstandingBytes,
      allocatedBytes: series.allocatedBytes,
    })),
  };
}

test('four paths: the leak ranks alone, at its rate; churn, the pool and the burst are told apart', (t) => {
  const analysis = analyseGrowth(fourPaths(0.5, 10));
  t.deepEqual(
    analysis.growth.map((stack) => stack.frames[0]!.name),
    ['leak'],
  );
  const leak = analysis.growth[0]!;
  t.is(leak.kind, 'steady-growth');
  t.true(Math.abs(leak.bytesPerSecond - 64_000) < 640, `${leak.bytesPerSecond} B/s`);
  t.true(leak.fit > 0.999);
  t.is(leak.shareOfGrowth, 1);
  const kinds = Object.fromEntries(analysis.notGrowing.map((stack) => [stack.frames[0]!.name, stack.kind]));
  t.deepEqual(kinds, { burst: 'released', pool: 'plateau', churn: 'churn' });
});

test('the recorder keeps at most maxPoints points however long the trace, evenly thinned, the end kept', (t) => {
  const recorder = new TimelineRecorder(1, 8);
  for (let tick = 1; tick <= 1001; tick++) recorder.add({ seconds: tick, allocated: new Map([['a', tick * 100]]), freed: new Map() });
  const recorded = recorder.finish();
  t.true(recorded.times.length <= 8, `${recorded.times.length} points`);
  // 1001 snapshots in at most 8 points: 7 of them 128 apart (127 … 895), then the end's.
  t.is(recorded.downsampleFactor, 128);
  t.is(recorded.intervalSeconds, 128);
  t.is(recorded.times.at(-1), 1001);
  t.is(recorder.snapshotCount, 1001);
  // Rising, evenly spaced but for the end.
  const gaps = recorded.times.slice(1, -1).map((time, index) => time - recorded.times[index]!);
  t.true(
    gaps.every((gap) => gap === 128),
    gaps.join(','),
  );
  t.deepEqual(
    recorded.series[0]!.outstandingBytes,
    recorded.times.map((time) => time * 100),
  );
});

test('a stack first seen late had nothing before; one a snapshot lost keeps its last figures', (t) => {
  const recorder = new TimelineRecorder(1);
  recorder.add({ seconds: 1, allocated: new Map([['a', 10]]), freed: new Map() });
  recorder.add({ seconds: 2, allocated: new Map([['b', 5]]), freed: new Map() });
  recorder.add({
    seconds: 3,
    allocated: new Map([
      ['a', 30],
      ['b', 5],
    ]),
    freed: new Map([['a', 30]]),
  });
  const { times, series } = recorder.finish();
  t.deepEqual(times, [0, 1, 2, 3]);
  t.deepEqual(Object.fromEntries(series.map((entry) => [entry.key, entry.outstandingBytes])), { a: [0, 10, 10, 0], b: [0, 0, 5, 5] });
});

test('too few points: nothing ranked, and the analysis says why', (t) => {
  const analysis = analyseGrowth({ ...fourPaths(1, 2), times: [0, 1, 2] });
  t.deepEqual(analysis.growth, []);
  t.regex(analysis.note!, new RegExp(`3 points: at least ${MIN_POINTS}`));
});

test('fitLine: exact on a line, 0 on a constant', (t) => {
  t.deepEqual(fitLine([0, 1, 2, 3], [5, 7, 9, 11]), { slope: 2, fit: 1 });
  t.deepEqual(fitLine([0, 1, 2, 3], [4, 4, 4, 4]), { slope: 0, fit: 0 });
});
