// When memtrace may send bpftrace its stop: once the tracer's main thread sleeps in epoll_wait
// (src/run/tracer-settle.ts says why). Real processes stand in for the tracer: an idle node waits
// in epoll_wait as bpftrace does between records; a busy loop, a sleep, a stopped process and a
// PID that is gone do not: the first three are signalled after the limit, a gone one at once.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { settleTracer, waitsInEpoll } from '../../src/run/tracer-settle.js';

/** The PID of a child started and past its start-up (killed when the test ends). */
async function child(t: import('ava').ExecutionContext, command: string, args: string[], ready: RegExp): Promise<number> {
  const spawned = execa(command, args, { reject: false });
  t.teardown(() => void spawned.kill('SIGKILL'));
  await new Promise<void>((resolve) => {
    let seen = '';
    spawned.stdout!.on('data', (chunk: Buffer) => {
      seen += String(chunk);
      if (ready.test(seen)) resolve();
    });
  });
  return spawned.pid!;
}

test('an idle node waits in epoll_wait: settled at once', async (t) => {
  const idle = await child(t, process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 60_000)"], /ready/);
  const start = Date.now();
  t.true(await settleTracer(idle, 5_000));
  t.true(await waitsInEpoll(idle));
  t.true(Date.now() - start < 2_000, `${Date.now() - start} ms`);
});

test('a busy loop, a sleep and a stopped process are not idle: the stop goes after the limit', async (t) => {
  const busy = await child(t, process.execPath, ['-e', "console.log('ready'); for (;;) {}"], /ready/);
  const sleeping = await child(t, 'sh', ['-c', 'echo ready; exec sleep 60'], /ready/);
  const stopped = await child(t, process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 60_000)"], /ready/);
  process.kill(stopped, 'SIGSTOP');
  // exec sleep: wait until sh has become sleep.
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const [name, pid] of [
    ['busy', busy],
    ['sleep', sleeping],
    ['stopped', stopped],
  ] as const) {
    const start = Date.now();
    t.false(await settleTracer(pid, 300), name);
    const waited = Date.now() - start;
    t.true(waited >= 300 && waited < 2_000, `${name}: ${waited} ms`);
  }
  process.kill(stopped, 'SIGCONT');
});

test('a zombie (a tracer dying, not yet reaped) has nothing left to lose: no wait', async (t) => {
  // A python parent that forks a child which exits at once, and never waits for it: a zombie for a minute.
  const parent = execa(
    'python3',
    ['-c', 'import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)'],
    {
      reject: false,
    },
  );
  t.teardown(() => void parent.kill('SIGKILL'));
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (chunk: Buffer) => resolve(String(chunk)))));
  let state = '';
  for (let tries = 0; tries < 200 && state !== 'Z'; tries += 1) {
    state = readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]!.slice(0, 1);
    if (state !== 'Z') await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.is(state, 'Z');
  const start = Date.now();
  t.true(await settleTracer(zombie, 5_000));
  t.true(Date.now() - start < 1_000, `${Date.now() - start} ms`);
});

test('a PID that is gone: nothing left to lose, and no wait', async (t) => {
  const gone = execa('true');
  await gone;
  const start = Date.now();
  t.true(await settleTracer(gone.pid!, 5_000));
  t.false(await waitsInEpoll(gone.pid!));
  t.true(Date.now() - start < 1_000);
});
