// memtrace-bpf faults against test/workloads/touch-pages.c, launched and attached: the pages each of
// its functions touches are counted exactly at that function's stacks; and the ways a trace ends early.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { FaultsProfile } from '../../src/model/faults-profile.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { buildWorkload } from '../helpers/workloads.js';

const PAGE = 4096;
const WORKLOAD_FUNCTIONS = ['touch_mmap', 'touch_brk', 'touch_heap', 'touch_zero'];

/** What touch-pages' own functions did, by the innermost of them on each stack. */
const EXPECTED = {
  touch_mmap: { faults: 37, residentBytes: 37 * PAGE, brkBytes: 0, mmapBytes: 37 * PAGE },
  touch_brk: { faults: 29, residentBytes: 29 * PAGE, brkBytes: 29 * PAGE, mmapBytes: 0 },
  // 23 × 64 KiB: 368 pages, the first of which malloc itself wrote (its chunk header), inside
  // glibc, whose missing frame pointers hide touch_heap from that stack.
  touch_heap: { faults: 367, residentBytes: 367 * PAGE, brkBytes: 0, mmapBytes: 0 },
  // 13 pages read (each maps the shared zero page), then written (13 copy-on-write protection
  // faults, which add no page to the count).
  touch_zero: { faults: 26, residentBytes: 13 * PAGE, brkBytes: 0, mmapBytes: 13 * PAGE },
};

/**
 * Unwound with DWARF (bpftrace 0.26 and later), the stacks of malloc's own work inside touch_heap
 * reach touch_heap: the block's mmap (369 pages with its header) and, launched (the process's first
 * malloc), the arena's first brk (33 pages). The pages malloc itself writes there (the chunk header's,
 * the arena's top: 1 or 2, as the heap's random start falls) are libc's code, not the workload's: in
 * DWARF mode faults count where the workload's own code faulted, the stack's leaf.
 */
function expectedFor(profile: FaultsProfile, launched: boolean): typeof EXPECTED {
  if (profile.tracer.stacks !== 'dwarf') return EXPECTED;
  return { ...EXPECTED, touch_heap: { ...EXPECTED.touch_heap, brkBytes: launched ? 33 * PAGE : 0, mmapBytes: 369 * PAGE } };
}

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

function byWorkloadFunction(
  profile: FaultsProfile,
): Record<string, { faults: number; residentBytes: number; brkBytes: number; mmapBytes: number }> {
  const sums: Record<string, { faults: number; residentBytes: number; brkBytes: number; mmapBytes: number }> = {};
  const leafOnly = profile.tracer.stacks === 'dwarf'; // see expectedFor
  for (const stack of profile.stacks) {
    const innermost = [...stack.frames].reverse().find((frame) => WORKLOAD_FUNCTIONS.includes(frame.name));
    if (innermost === undefined) continue;
    const sum = (sums[innermost.name] ??= { faults: 0, residentBytes: 0, brkBytes: 0, mmapBytes: 0 });
    const ownCode = !leafOnly || stack.frames.at(-1) === innermost;
    sum.faults += ownCode ? stack.faults : 0;
    sum.residentBytes += ownCode ? stack.residentBytes : 0;
    sum.brkBytes += stack.brkBytes;
    sum.mmapBytes += stack.mmapBytes;
  }
  return sums;
}

liveTest("launched: each function's pages counted exactly at its stacks; the raw log re-renders the same", async (t) => {
  const output = temporary('faults.json');
  const rawOut = temporary('faults.ndjson');
  const result = await memtrace(['faults', '-o', output, '--raw-out', rawOut, '--', buildWorkload('touch-pages')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as FaultsProfile;
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual(byWorkloadFunction(profile), expectedFor(profile, true));
  t.is(profile.losses.registerMismatches, 0);
  t.is(profile.target.command?.at(-1), buildWorkload('touch-pages'));
  const stack = profile.stacks.find((candidate) => candidate.faults === 37)!;
  t.deepEqual(
    stack.frames.slice(-3).map((frame) => frame.name),
    ['__libc_start_call_main', 'main', 'touch_mmap'],
  );
  t.is(stack.frames.at(-1)?.module, 'touch-pages');

  const replayed = await memtraceAuto(['report', rawOut, '-f', 'json']);
  t.is(replayed.exitCode, 0, `${replayed.stderr}`);
  const again = JSON.parse(`${replayed.stdout}`) as FaultsProfile;
  t.deepEqual(byWorkloadFunction(again), expectedFor(profile, true));
  t.deepEqual(again.totals, profile.totals);
});

liveTest('attached, the target exiting mid-trace: a full report, and a baseline of at most 4 other faults', async (t) => {
  const target = execa(buildWorkload('touch-pages'), ['--wait'], { reject: false });
  const ready = await waitForLine(target.stdout!, /^ready \d+$/);
  const pid = Number(ready.split(' ')[1]);
  const output = temporary('faults.json');
  const svg = temporary('growth.svg');
  const session = memtrace(['faults', '-p', String(pid), '-o', output, '-o', svg]);
  await waitForLine(session.stderr!, /memtrace: tracing page faults, brk and mmap of PID \d+/);
  process.kill(pid, 'SIGUSR1');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(finished.exitCode, 0);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as FaultsProfile;
  t.false(profile.partial, profile.partialReason ?? '');
  t.is(profile.target.pid, pid);
  t.deepEqual(byWorkloadFunction(profile), expectedFor(profile, false));
  // Attached after start-up: the only other faults are malloc's header page and a page or two of code or stdio.
  const own = 37 + 29 + 367 + 26;
  t.true(profile.totals.faults >= own + 1 && profile.totals.faults <= own + 4, String(profile.totals.faults));
  t.is(profile.totals.brkBytes, 29 * PAGE);
  t.is(profile.totals.mmapBytes, 37 * PAGE + 369 * PAGE + 13 * PAGE);
  t.is(profile.totals.protectionFaults, 13);
  t.is(profile.totals.mmapFailed, 0);
  const flame = readFileSync(svg, 'utf8');
  t.true(flame.startsWith('<?xml') || flame.startsWith('<svg'));
  t.true(flame.includes('touch_heap'));
  t.true(flame.includes('faults: bytes made resident, by stack'));
});

liveTest('a PID that does not exist: exit 5 (TargetError) and a message, before bpftrace starts', async (t) => {
  const result = await memtrace(['faults', '-p', '4194303']);
  t.is(result.exitCode, 5, `${result.stderr}`);
  t.regex(`${result.stderr}`, /no process with PID 4194303/);
});

liveTest('SIGINT to memtrace: the partial report is written, the target runs on to its end', async (t) => {
  const output = temporary('faults.json');
  const session = memtrace(['faults', '-o', output, '--', buildWorkload('touch-pages'), '--linger', '4']);
  await waitForLine(session.stderr!, /memtrace: tracing/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  session.kill('SIGINT');
  const traced = await session;
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as FaultsProfile;
  t.true(profile.partial);
  t.is(profile.partialReason, 'interrupted by SIGINT');
  t.deepEqual(byWorkloadFunction(profile), expectedFor(profile, true));
});

liveTest('--duration ends an attached trace and leaves the target running', async (t) => {
  const target = execa(buildWorkload('touch-pages'), ['--wait', '--linger', '8'], { reject: false });
  const ready = await waitForLine(target.stdout!, /^ready \d+$/);
  const pid = Number(ready.split(' ')[1]);
  const output = temporary('faults.json');
  const session = memtrace(['faults', '-p', String(pid), '--duration', '2s', '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing .* for 2 s/);
  process.kill(pid, 'SIGUSR1');
  const traced = await session;
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.true(existsSync(`/proc/${pid}/stat`), 'target still running after the trace');
  const profile = JSON.parse(readFileSync(output, 'utf8')) as FaultsProfile;
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual(byWorkloadFunction(profile), expectedFor(profile, false));
  const finished = await target;
  t.is(finished.exitCode, 0);
  t.is(`${finished.stdout}`, `ready ${pid}\ntouched`);
});
