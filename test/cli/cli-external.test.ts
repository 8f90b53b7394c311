// memtrace-bpf external: a Node process's ArrayBuffer backing stores by JS stack, launched and
// attached, against test/workloads/node/buffers.js (23 Buffers of 98,760 B from makeDistinctBuffers,
// 10 dropped and collected, 13 held); and the bad inputs.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile, MallocStack } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const BUFFERS = join(ROOT, 'test/workloads/node/buffers.js');
const SIZE = 98_760;
const PERF_FLAGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

/** The stacks through makeDistinctBuffers (any V8 tier: ~ interpreted, ^ baseline, …), summed. */
function madeByWorkload(profile: MallocProfile): {
  stacks: MallocStack[];
  allocs: number;
  allocBytes: number;
  outstanding: number;
  outstandingBytes: number;
} {
  const stacks = profile.stacks.filter((stack) =>
    stack.frames.some((frame) => frame.kind === 'js' && /^JS:.makeDistinctBuffers .*buffers\.js:\d+$/.test(frame.name)),
  );
  const sum = (key: 'allocs' | 'allocBytes' | 'outstanding' | 'outstandingBytes') => stacks.reduce((total, stack) => total + stack[key], 0);
  return {
    stacks,
    allocs: sum('allocs'),
    allocBytes: sum('allocBytes'),
    outstanding: sum('outstanding'),
    outstandingBytes: sum('outstandingBytes'),
  };
}

liveTest('launched: the 23 Buffers of makeDistinctBuffers, by JS stack, 13 outstanding at the end of the trace', async (t) => {
  const output = temporary('external.json');
  // The trace ends at its duration while node still holds its buffers (at exit node frees them all).
  const traced = await memtrace(['external', '--duration', '5s', '-o', output, '--', 'node', '--expose-gc', BUFFERS, '23', '10', '9000'], {
    timeout: 180_000,
  });
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.is(profile.tool, 'external');
  t.false(profile.partial, profile.partialReason ?? '');
  const mine = madeByWorkload(profile);
  t.deepEqual(
    { ...mine, stacks: undefined },
    { stacks: undefined, allocs: 23, allocBytes: 23 * SIZE, outstanding: 13, outstandingBytes: 13 * SIZE },
  );
  // The JS caller of makeDistinctBuffers is in the stacks too, and no perf map is left behind.
  t.true(mine.stacks.every((stack) => stack.frames.some((frame) => /^JS:.run .*buffers\.js:\d+$/.test(frame.name))));
  const pid = profile.target.pid!;
  t.false(existsSync(`/tmp/perf-${pid}.map`), 'the perf map memtrace asked for is removed');
});

liveTest('attached by PID to a node writing a perf map: the function name and the exact counts', async (t) => {
  const target = execa('node', [...PERF_FLAGS, '--expose-gc', BUFFERS, '23', '10', '15000', 'usr2'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^waiting \d+$/)).split(' ')[1]);
  try {
    const output = temporary('external.json');
    const rawOut = temporary('external.ndjson');
    const session = memtrace(['external', '-p', String(pid), '--duration', '4s', '-o', output, '--raw-out', rawOut], { timeout: 180_000 });
    await waitForLine(session.stderr!, /memtrace: tracing Allocate, AllocateUninitialized, Free in PID \d+/);
    process.kill(pid, 'SIGUSR2');
    const traced = await session;
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    t.true(existsSync(`/proc/${pid}/stat`), 'the target runs on after the trace');
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    const mine = madeByWorkload(profile);
    t.deepEqual(
      { ...mine, stacks: undefined },
      { stacks: undefined, allocs: 23, allocBytes: 23 * SIZE, outstanding: 13, outstandingBytes: 13 * SIZE },
    );
    t.is(profile.totals.allocs, 23, 'nothing else of node allocated a backing store in the traced seconds');
    t.true(profile.totals.frees >= 10);
    t.deepEqual(
      profile.functions.map((fn) => [fn.name, fn.calls]).filter(([name]) => name !== 'Free'),
      [
        ['AllocateUninitialized', 22],
        ['Allocate', 1],
      ],
    );
    // The raw log re-renders into the same profile, JS names included (they travel in the log).
    const again = await memtraceAuto(['report', rawOut, '-f', 'json']);
    t.is(again.exitCode, 0, `${again.stderr}`);
    const replayed = JSON.parse(`${again.stdout}`) as MallocProfile;
    t.is(replayed.tool, 'external');
    t.deepEqual(replayed.stacks, profile.stacks);
  } finally {
    target.kill();
    await target;
  }
});

liveTest('bad input: a target that is not node, attached or launched, and a PID that does not exist', async (t) => {
  const sleeper = execa('sleep', ['30'], { reject: false });
  try {
    const attached = await memtrace(['external', '-p', String(sleeper.pid), '--duration', '1s']);
    t.is(attached.exitCode, 5);
    t.regex(
      `${attached.stderr}`,
      new RegExp(
        `^memtrace-bpf: PID ${sleeper.pid} runs /usr/bin/sleep, which is not node \\(it has none of the symbols of Node's ArrayBuffer allocator\\): external traces Node processes only$`,
      ),
    );
  } finally {
    sleeper.kill();
    await sleeper;
  }
  const launched = await memtrace(['external', '--', '/bin/true']);
  t.is(launched.exitCode, 2);
  t.regex(`${launched.stderr}`, /^memtrace-bpf: external needs a Node\.js program, and \/bin\/true \(\/bin\/true\) is not one/);
  const missing = await memtrace(['external', '-p', '4194304']);
  t.is(missing.exitCode, 5);
  t.is(`${missing.stderr}`, 'memtrace-bpf: no process with PID 4194304');
});
