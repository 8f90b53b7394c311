// The partial reason of every bpftrace tool's report, from how the session ended.
import test from 'ava';
import type { SessionEnd } from '../../../src/run/trace-session.js';
import { announcePartial, describeSessionLoss, tracerFailed } from '../../../src/tools/common/session-loss.js';

function end(reason: SessionEnd['reason'], tracerExit: SessionEnd['tracerExit'], extra: Partial<SessionEnd> = {}): SessionEnd {
  return {
    reason,
    signal: reason === 'signal' ? 'SIGINT' : null,
    tracerExit,
    tracerErrors: [],
    stoppedBehind: false,
    targetExit: null,
    ...extra,
  };
}

const CLEAN = { code: 0, signal: null };
const KILLED = { code: null, signal: 'SIGKILL' };

test('a trace that ended as planned is not partial', (t) => {
  t.is(describeSessionLoss(end('target-exited', CLEAN)), null);
  t.is(describeSessionLoss(end('duration', CLEAN)), null);
  t.false(tracerFailed(end('duration', CLEAN)));
});

test('an interruption whose maps were printed', (t) => {
  t.is(describeSessionLoss(end('signal', CLEAN)), 'interrupted by SIGINT');
  t.is(
    describeSessionLoss(end('signal', CLEAN), false, ': the collections until then'),
    'interrupted by SIGINT: the collections until then',
  );
  t.false(tracerFailed(end('signal', CLEAN)));
});

test('bpftrace killed while printing after an interruption: the loss is said, and it is a tracer failure', (t) => {
  t.is(
    describeSessionLoss(end('signal', KILLED)),
    'interrupted by SIGINT; then bpftrace was killed by SIGKILL while printing its maps: what it had not printed is lost',
  );
  t.true(tracerFailed(end('signal', KILLED)));
});

test('bpftrace killed after the duration or the target exit: partial, never complete', (t) => {
  t.is(
    describeSessionLoss(end('duration', KILLED)),
    'bpftrace was killed by SIGKILL while printing its maps: what it had not printed is lost',
  );
  t.is(
    describeSessionLoss(end('target-exited', { code: 1, signal: null })),
    'bpftrace exited with code 1 while printing its maps: what it had not printed is lost',
  );
  t.true(tracerFailed(end('duration', KILLED)));
});

test('bpftrace dying mid-trace, with its first error', (t) => {
  t.is(describeSessionLoss(end('tracer-died', KILLED)), 'bpftrace was killed by SIGKILL: what it had not printed is lost');
  t.is(
    describeSessionLoss(end('tracer-died', { code: 1, signal: null }, { tracerErrors: ['ERROR: out of memory', 'more'] })),
    'bpftrace exited with code 1 (ERROR: out of memory): what it had not printed is lost',
  );
  t.true(tracerFailed(end('tracer-died', KILLED)));
});

test('stopped while bpftrace was still reading: the records it had not read may be missing, said after the interruption', (t) => {
  const behind =
    'bpftrace had not read all its records when it was stopped (it was busy for all of the 1 s memtrace waits): the records it had not read may be missing, and bpftrace does not count them';
  t.is(
    describeSessionLoss(end('signal', CLEAN, { stoppedBehind: true }), false, ': the collections until then'),
    `interrupted by SIGINT: the collections until then; ${behind}`,
  );
  t.is(
    describeSessionLoss(end('signal', KILLED, { stoppedBehind: true })),
    `interrupted by SIGINT; ${behind}; then bpftrace was killed by SIGKILL while printing its maps: what it had not printed is lost`,
  );
  // The duration's backstop, sent to a busy bpftrace: partial, where it would otherwise be whole.
  t.is(describeSessionLoss(end('duration', CLEAN, { stoppedBehind: true })), behind);
  t.false(tracerFailed(end('signal', CLEAN, { stoppedBehind: true })));
});

test('output cut mid-record', (t) => {
  t.is(describeSessionLoss(end('tracer-exited', CLEAN), true), 'the tracer output ended in the middle of a record');
});

test('announcePartial writes one stderr line, and nothing for a complete report', (t) => {
  const written: string[] = [];
  const stderr = { write: (text: string) => written.push(text) };
  announcePartial(stderr, null);
  announcePartial(stderr, 'interrupted by SIGINT');
  t.deepEqual(written, ['memtrace: the report is partial: interrupted by SIGINT\n']);
});
