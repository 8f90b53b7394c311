// How a tracing session ends, for bpftrace's and DTrace's sessions alike: the reason, the grace a
// tracer gets to print its results, and the signals memtrace sends it (to a node child that writes
// down each signal it receives, standing in for a tracer).
import test from 'ava';
import { execa } from 'execa';
import { UsageError } from '../../src/errors.js';
import { FinishingGuard, finishingGuard } from '../../src/run/finishing-guard.js';
import { DurationBackstop, endReasonOf, stopGraceMs, TracerStopper, type TracerExit } from '../../src/run/session-end.js';

test('15 s to SIGTERM and 30 s to SIGKILL by default; MEMTRACE_STOP_GRACE sets the first, the second is twice it', (t) => {
  t.deepEqual(stopGraceMs({}), { termMs: 15_000, killMs: 30_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '' }), { termMs: 15_000, killMs: 30_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '120' }), { termMs: 120_000, killMs: 240_000 });
  t.deepEqual(stopGraceMs({ MEMTRACE_STOP_GRACE: '0.5' }), { termMs: 500, killMs: 1000 });
});

test('anything but seconds from 0.1 to 3600 is a usage error naming the variable and the value', (t) => {
  for (const text of ['0', '0.05', '3601', '-1', '1e3', '15s', 'abc', ' ', 'Infinity', 'NaN']) {
    t.throws(
      () => stopGraceMs({ MEMTRACE_STOP_GRACE: text }),
      { instanceOf: UsageError, message: `MEMTRACE_STOP_GRACE: expected seconds from 0.1 to 3600, got ${JSON.stringify(text)}` },
      text,
    );
  }
});

test("the reason: a stop asked for, then a failed tracer, then the target gone, then the duration or the tracer's own end", (t) => {
  const clean: TracerExit = { code: 0, signal: null };
  const killed: TracerExit = { code: null, signal: 'SIGKILL' };
  t.is(endReasonOf({ reason: 'signal', signal: 'SIGINT' }, killed, true, 1000), 'signal');
  t.is(endReasonOf({ reason: 'duration', signal: null }, clean, true, 1000), 'duration');
  t.is(endReasonOf(null, killed, true, 1000), 'tracer-died');
  t.is(endReasonOf(null, { code: 1, signal: null }, false, null), 'tracer-died');
  t.is(endReasonOf(null, clean, true, 1000), 'target-exited');
  t.is(endReasonOf(null, clean, false, 1000), 'duration');
  t.is(endReasonOf(null, clean, false, null), 'tracer-exited');
});

test('the backstop sees the end marker once, and then never fires', async (t) => {
  const backstop = new DurationBackstop();
  let fired = false;
  backstop.arm(0, () => (fired = true));
  t.false(backstop.see('memtrace:begin malloc'));
  t.true(backstop.see('memtrace:end 12345'));
  t.false(backstop.see('memtrace:end 12345'));
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  t.false(fired);
});

/** A child that writes the name of each signal it gets and ignores it; SIGKILL ends it. */
function deafChild() {
  const child = execa(
    process.execPath,
    ['-e', "for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => console.log(s)); console.log('ready'); setInterval(() => {}, 1000)"],
    { reject: false },
  );
  const seen: string[] = [];
  const ready = new Promise<void>((resolve) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter((text) => text !== '')) {
        if (line === 'ready') resolve();
        else seen.push(line);
      }
    });
  });
  return { child, seen, ready };
}

test.serial('a stop asked before the tracer runs is sent when it starts; then SIGTERM and SIGKILL after the grace', async (t) => {
  process.env.MEMTRACE_STOP_GRACE = '0.5';
  try {
    const stopper = new TracerStopper((reason) => (reason === 'duration' ? 'SIGTERM' : 'SIGINT'));
    stopper.stop('target-exited');
    const { child, seen, ready } = deafChild();
    await ready;
    stopper.tracerStarted(child.pid!);
    const exit = await child;
    t.deepEqual(seen, ['SIGINT', 'SIGTERM']);
    t.is(exit.signal, 'SIGKILL');
    t.deepEqual(stopper.request, { reason: 'target-exited', signal: null });
  } finally {
    delete process.env.MEMTRACE_STOP_GRACE;
  }
});

test.serial(
  "the first signal is the session's for the reason; a second Ctrl-C is SIGTERM at once; standDown cancels the escalation",
  async (t) => {
    process.env.MEMTRACE_STOP_GRACE = '0.5';
    try {
      const stopper = new TracerStopper((reason) => (reason === 'duration' ? 'SIGTERM' : 'SIGINT'));
      const { child, seen, ready } = deafChild();
      await ready;
      stopper.tracerStarted(child.pid!);
      stopper.stop('duration');
      // Two signals sent at once may reach the child as one.
      while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      stopper.stop('signal', 'SIGINT');
      stopper.standDown();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      t.deepEqual(seen, ['SIGTERM', 'SIGTERM']);
      t.deepEqual(stopper.request, { reason: 'duration', signal: null });
      child.kill('SIGKILL');
      await child;
    } finally {
      delete process.env.MEMTRACE_STOP_GRACE;
    }
  },
);

test.serial(
  'with a settle step, the first signal waits for it, and the escalation is timed from that signal; standing down meanwhile sends nothing; a tracer that did not catch up is noted',
  async (t) => {
    process.env.MEMTRACE_STOP_GRACE = '0.5';
    try {
      let settled!: (caughtUp: boolean) => void;
      const settling = new Promise<boolean>((resolve) => (settled = resolve));
      const asked: number[] = [];
      const stopper = new TracerStopper(
        () => 'SIGINT',
        (pid) => {
          asked.push(pid);
          return settling;
        },
      );
      const { child, seen, ready } = deafChild();
      await ready;
      stopper.tracerStarted(child.pid!);
      stopper.stop('signal', 'SIGINT');
      // Longer than the grace: nothing is sent, not even SIGTERM, until the tracer has settled.
      await new Promise((resolve) => setTimeout(resolve, 700));
      t.deepEqual(seen, []);
      t.deepEqual(asked, [child.pid]);
      settled(true);
      const exit = await child;
      t.deepEqual(seen, ['SIGINT', 'SIGTERM']);
      t.is(exit.signal, 'SIGKILL');
      t.false(stopper.stoppedBehind);

      const standing = new TracerStopper(
        () => 'SIGINT',
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200)),
      );
      const second = deafChild();
      await second.ready;
      standing.tracerStarted(second.child.pid!);
      standing.stop('duration');
      standing.standDown();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      t.deepEqual(second.seen, []);
      t.false(standing.stoppedBehind, 'stood down: no stop went, behind or not');
      second.child.kill('SIGKILL');
      await second.child;

      const behind = new TracerStopper(
        () => 'SIGINT',
        () => Promise.resolve(false),
      );
      const third = deafChild();
      await third.ready;
      behind.tracerStarted(third.child.pid!);
      behind.stop('signal', 'SIGINT');
      while (third.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      t.deepEqual(third.seen, ['SIGINT']);
      t.true(behind.stoppedBehind);
      third.child.kill('SIGKILL');
      await third.child;
    } finally {
      delete process.env.MEMTRACE_STOP_GRACE;
    }
  },
);

test.serial('after the session, a first signal only says what memtrace is doing; a second leaves', (t) => {
  const written: string[] = [];
  const exits: number[] = [];
  const guard = new FinishingGuard({ write: (text) => void written.push(text), exit: (code) => void exits.push(code) });
  const before = process.listeners('SIGINT').length;
  try {
    const release = guard.sessionListens();
    t.is(process.listeners('SIGINT').length, before + 1, 'the guard is installed with the first session');
    // During the session, the session's own handler stops the tracer: the guard stays silent.
    guard.handle('SIGINT');
    t.deepEqual([written, exits], [[], []]);
    release();
    release();
    guard.handle('SIGINT');
    t.deepEqual(exits, []);
    t.deepEqual(written, [
      'memtrace: SIGINT: the trace has ended; writing the report of what it gathered first (SIGINT again leaves at once)\n',
    ]);
    guard.handle('SIGTERM');
    t.deepEqual(exits, [143]);
    guard.handle('SIGHUP');
    t.deepEqual(exits, [143, 129]);
    // The next trace's ending starts again from its first signal.
    guard.sessionListens()();
    guard.handle('SIGINT');
    t.deepEqual(exits, [143, 129]);
    t.is(written.length, 2);
  } finally {
    guard.remove();
  }
  t.is(process.listeners('SIGINT').length, before);
});

test.serial('every session goes through the one guard: listening, then handing over', (t) => {
  const before = process.listeners('SIGTERM').length;
  const stopListening = new TracerStopper(() => 'SIGINT').listen();
  t.is(process.listeners('SIGTERM').length, before + 2, "the session's handler and the guard's");
  stopListening();
  t.is(process.listeners('SIGTERM').length, before + 1, "the guard's alone: memtrace keeps it until it exits");
  finishingGuard.remove();
  t.is(process.listeners('SIGTERM').length, before);
});
