// The grace a tracer gets to print its results after SIGINT (bpftrace and DTrace sessions alike).
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { stopGraceMs } from '../../src/run/trace-session.js';

test('15 s to SIGTERM and 30 s to SIGKILL by default; MEMTRACE_STOP_GRACE sets the first, the second is twice it', (t) => {
  t.deepEqual(stopGraceMs({}), { termMs: 15_000, killMs: 30_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '' }), { termMs: 15_000, killMs: 30_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '120' }), { termMs: 120_000, killMs: 240_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '0.5' }), { termMs: 500, killMs: 1000 });
});

test('anything but seconds from 0.1 to 3600 is a usage error naming the variable and the value', (t) => {
  for (const text of ['0', '0.05', '3601', '-1', '1e3', '15s', 'abc', ' ', 'Infinity', 'NaN']) {
    t.throws(() => stopGraceMs({ MEMTRACE_STOP_GRACE: text }), { instanceOf: UsageError, message: `MEMTRACE_STOP_GRACE: expected seconds from 0.1 to 3600, got ${JSON.stringify(text)}` }, text);
  }
});
