// HeapReports on a fake clock: which figures a sample takes, and how every sample without them is
// counted and explained.
import test from 'ava';
import { HeapReports } from '../../src/sample/heap-reports.js';

const PID = 4242;

function reportsAt(intervalMs = 100) {
  const clock = { ms: 0 };
  return { clock, reports: new HeapReports(PID, intervalMs, 'preload', () => clock.ms) };
}

test('samples before the first report count as such; from then on, the fresher figures', (t) => {
  // given
  const { clock, reports } = reportsAt();
  // when
  const first = reports.read();
  clock.ms = 100;
  reports.heap(PID, { heapUsed: 10, heapTotal: 20, external: 1, arrayBuffers: 2 }, 'timer');
  reports.heap(PID + 1, { heapUsed: 999, heapTotal: 999 }, 'inspector'); // a child process: its own PID
  clock.ms = 150;
  reports.heap(PID, { heapUsed: 11, heapTotal: 21 }, 'inspector');
  const both = reports.read();
  // then
  t.is(first, null);
  t.deepEqual(
    both,
    { heapUsed: 11, heapTotal: 21, external: 1, arrayBuffers: 2 },
    'heapUsed from the newer worker report, external from the timer',
  );
  t.deepEqual(reports.summary(), { samples: 1, beforeFirst: 1, late: 0, via: 'inspector' });
});

test('a busy program: the worker alone reports; the timer figures age out, never carried on', (t) => {
  const { clock, reports } = reportsAt();
  reports.preload(PID, 'inspector', undefined);
  reports.heap(PID, { heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 }, 'timer');
  for (let tick = 1; tick <= 23; tick++) {
    clock.ms = tick * 100;
    reports.heap(PID, { heapUsed: tick, heapTotal: 100 }, 'inspector');
    const values = reports.read();
    t.is(values?.heapUsed, tick);
    if (tick >= 3) t.is(values?.external, undefined, `tick ${tick}: the timer's figures are ${tick * 100} ms old`);
  }
  t.deepEqual(reports.summary(), { samples: 23, beforeFirst: 0, late: 0, via: 'inspector' });
});

test('no fresh figures: counted late, with the reason', (t) => {
  const { clock, reports } = reportsAt();
  reports.heap(PID, { heapUsed: 1, heapTotal: 2 }, 'inspector');
  clock.ms = 250; // two intervals and 50 ms of slack
  t.not(reports.read(), null);
  clock.ms = 251;
  t.is(reports.read(), null);
  const summary = reports.summary();
  t.like(summary, { samples: 1, late: 1, via: 'inspector' });
  t.regex(summary.why!, /no figures from the last 250 ms: V8 answers between two JavaScript instructions/);
});

test('without a worker, a busy event loop sends nothing: the preload said why', (t) => {
  const { clock, reports } = reportsAt();
  reports.heap(PID, { heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 }, 'timer');
  reports.preload(PID, 'timer', 'no inspector in this Node');
  clock.ms = 1000;
  t.is(reports.read(), null);
  t.like(reports.summary(), {
    late: 1,
    via: 'timer',
    why: "the program's event loop was busy, and only its timer reports then (no inspector in this Node)",
  });
});

test('a program that never reports: every sample is before the first report, and the summary says what to check', (t) => {
  const { reports } = reportsAt();
  reports.read();
  reports.read();
  const summary = reports.summary();
  t.like(summary, { samples: 0, beforeFirst: 2, late: 0, via: 'none' });
  t.regex(summary.why!, /never reported: it did not load memtrace's preload/);
});

test('a worker that said hello but never got an answer: the main thread ran no JavaScript, said so', (t) => {
  const { reports } = reportsAt();
  reports.preload(PID, 'inspector', undefined);
  reports.read();
  const summary = reports.summary();
  t.like(summary, { samples: 0, beforeFirst: 1, late: 0, via: 'inspector' });
  t.regex(summary.why!, /the main thread never answered: it ran no JavaScript while sampled/);
});

test("attached through the inspector: all four figures from each answer; a late answer and one that never came say why in the inspector's terms", (t) => {
  const clock = { ms: 0 };
  const reports = new HeapReports(PID, 100, 'attached', () => clock.ms);
  reports.heap(PID, { heapUsed: 10, heapTotal: 20, external: 3, arrayBuffers: 4 }, 'inspector');
  t.deepEqual(reports.read(), { heapUsed: 10, heapTotal: 20, external: 3, arrayBuffers: 4 });
  clock.ms = 500;
  t.is(reports.read(), null);
  t.like(reports.summary(), { samples: 1, beforeFirst: 0, late: 1, via: 'inspector' });
  t.regex(reports.summary().why!, /^no figures from the last 250 ms: V8 answers between two JavaScript instructions/);

  const silent = new HeapReports(PID, 100, 'attached', () => clock.ms);
  t.is(silent.read(), null);
  t.deepEqual(silent.summary(), {
    samples: 0,
    beforeFirst: 1,
    late: 0,
    via: 'none',
    why: "the program's inspector never answered (a long native call or garbage collection, or the process is stopped?)",
  });
});
