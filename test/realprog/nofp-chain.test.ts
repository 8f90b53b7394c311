// A C program built -O2 -fomit-frame-pointer (as distributions build), with a known call chain:
// DWARF stacks name every frame of it, launched and attached; frame-pointer stacks give the same
// totals but stop at the allocator's caller. test/workloads/nofp-chain.c says what it allocates.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { LIVE_DWARF, liveTest } from '../helpers/live.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { buildWorkloadWithoutFramePointers } from '../helpers/workloads.js';

const TOTALS = {
  allocs: 48,
  frees: 37,
  allocBytes: 37 * 48 + 11 * 4096,
  failed: 0,
  freeNull: 0,
  outstanding: 11,
  outstandingBytes: 11 * 4096,
};
// Root first, as memtrace stores stacks: _start (the entry of the executable), glibc's start-up, then the chain.
const ROOT_FRAMES = ['_start', '__libc_start_main', '__libc_start_call_main', 'main', 'outer'];
const CHAINS = [
  { frames: [...ROOT_FRAMES, 'middle', 'leaf_alloc'], allocs: 37, allocBytes: 37 * 48, outstanding: 0 },
  { frames: [...ROOT_FRAMES, 'side', 'leaf_alloc'], allocs: 11, allocBytes: 11 * 4096, outstanding: 11 },
];

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

function stacksByNames(profile: MallocProfile) {
  return profile.stacks
    .map((stack) => ({
      frames: stack.frames.map((frame) => frame.name),
      allocs: stack.allocs,
      allocBytes: stack.allocBytes,
      outstanding: stack.outstanding,
    }))
    .sort((a, b) => b.allocs - a.allocs);
}

if (LIVE_DWARF) {
  liveTest('DWARF, launched: two stacks, every frame of each chain named, exact counts', async (t) => {
    const output = temporary('chain.json');
    const traced = await memtrace(['malloc', '-o', output, '--', buildWorkloadWithoutFramePointers('nofp-chain')]);
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.is(profile.tracer.stacks, 'dwarf');
    t.deepEqual(profile.totals, TOTALS);
    t.deepEqual(stacksByNames(profile), CHAINS);
    t.is(profile.losses.unsymbolizedFrames, 0);
  });

  liveTest('DWARF, attached by PID: the same two whole stacks', async (t) => {
    const target = execa(buildWorkloadWithoutFramePointers('nofp-chain'), ['--wait'], { reject: false });
    const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
    const output = temporary('chain.json');
    const session = memtrace(['malloc', '-p', String(pid), '-o', output]);
    await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
    process.kill(pid, 'SIGUSR1');
    const [traced, finished] = await Promise.all([session, target]);
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    t.is(finished.exitCode, 0);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.is(profile.tracer.stacks, 'dwarf');
    t.deepEqual(profile.totals, TOTALS);
    t.deepEqual(stacksByNames(profile), CHAINS);
  });
}

liveTest('--stacks fp: the same totals, every stack stopped at leaf_alloc, and the report says why', async (t) => {
  const output = temporary('chain.json');
  const traced = await memtrace(['malloc', '--stacks', 'fp', '-o', output, '--', buildWorkloadWithoutFramePointers('nofp-chain')]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.is(profile.tracer.stacks, 'fp');
  t.true(
    (profile.tracer.choices ?? []).some((choice) =>
      /^user stacks walk frame pointers.*cut short in code built without (them|frame pointers)$/.test(choice),
    ),
    (profile.tracer.choices ?? []).join('\n'),
  );
  t.deepEqual(profile.totals, TOTALS);
  // leaf_alloc, compiled without a frame, leaves the register holding something else: the walk
  // ends there (or after one bogus address), never reaching the callers that tell the chains apart.
  const names = new Set(profile.stacks.flatMap((stack) => stack.frames.map((frame) => frame.name)));
  for (const caller of ['middle', 'side', 'outer', 'main']) t.false(names.has(caller), caller);
  t.true(profile.stacks.every((stack) => stack.frames.at(-1)?.name === 'leaf_alloc'));
});
