// The traced process doing the unexpected mid-trace: killed by SIGKILL, exec-ing another program,
// forking a child that allocates too. test/workloads/fork-exec.c allocates blocks of 333 bytes
// (a size nothing else here uses), so with --min-size/--max-size 333 the counts are exact:
// memtrace counts the traced PID only — across an exec (same PID, a new program: both programs'
// calls count), never a forked child (another PID).
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { leftoversAfter, readReport, startMemtrace, startWaitingWorkload, temporary, untilTracing } from '../helpers/faults.js';
import { KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { liveTest } from '../helpers/live.js';
import { sleep } from '../helpers/processes.js';
import { buildWorkload } from '../helpers/workloads.js';

const ONLY_333 = ['--min-size', '333', '--max-size', '333'];

liveTest('launched, the command killed by SIGKILL mid-trace: a full report of what it did, exit 137', async (t) => {
  const output = temporary('report.json');
  const run = startMemtrace(['malloc', '-o', output, '--', buildWorkload('known-allocs'), '--linger', '30']);
  const pid = await untilTracing(run);
  // known-allocs allocates at once, then lingers: kill it while it lingers.
  await sleep(1500);
  process.kill(pid, 'SIGKILL');
  const result = await run.session;
  t.deepEqual(await leftoversAfter(run), []);
  t.is(result.exitCode, 137, run.stderr());
  const profile = readReport<MallocProfile>(output)!;
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
});

liveTest('-p PID, the target killed by SIGKILL mid-trace: a full report, exit 0, nothing left', async (t) => {
  const { target, pid } = await startWaitingWorkload(['--linger', '30']);
  const output = temporary('report.json');
  const run = startMemtrace(['malloc', '-p', String(pid), '-o', output]);
  await untilTracing(run);
  process.kill(pid, 'SIGUSR1');
  await sleep(1500);
  process.kill(pid, 'SIGKILL');
  const result = await run.session;
  await target;
  t.deepEqual(await leftoversAfter(run), []);
  t.is(result.exitCode, 0, run.stderr());
  t.regex(run.stderr(), new RegExp(`PID ${pid} exited|wrote`));
  const profile = readReport<MallocProfile>(output)!;
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
});

liveTest('launched, the command execs another program: both programs of the PID are counted (19 + 23)', async (t) => {
  const output = temporary('report.json');
  const workload = buildWorkload('fork-exec');
  const run = startMemtrace(['malloc', ...ONLY_333, '-o', output, '--', workload, '19', '--exec', workload, '23']);
  const result = await run.session;
  t.deepEqual(await leftoversAfter(run), []);
  t.is(result.exitCode, 5, run.stderr());
  t.is(run.stdout(), 'allocated 19\nallocated 23\n');
  const profile = readReport<MallocProfile>(output)!;
  t.log(
    `after exec: ${profile.totals.allocs} allocations of 333 B; partial: ${profile.partialReason}; notes: ${profile.notes.join(' | ')}`,
  );
  t.is(profile.totals.allocs, 19 + 23);
  t.is(profile.totals.outstanding, 19 + 23);
  t.false(profile.partial, profile.partialReason ?? '');
});

liveTest('launched, the command execs /bin/sleep mid-trace: its 19 blocks, and the trace ends with sleep', async (t) => {
  const output = temporary('report.json');
  const run = startMemtrace(['malloc', ...ONLY_333, '-o', output, '--', buildWorkload('fork-exec'), '19', '--exec', '/bin/sleep', '1']);
  const result = await run.session;
  t.deepEqual(await leftoversAfter(run), []);
  t.is(result.exitCode, 0, run.stderr());
  const profile = readReport<MallocProfile>(output)!;
  t.is(profile.totals.allocs, 19);
  t.false(profile.partial, profile.partialReason ?? '');
});

liveTest('launched, the command forks a child that allocates: only the traced PID counts (19, not 19 + 23)', async (t) => {
  const output = temporary('report.json');
  const run = startMemtrace(['malloc', ...ONLY_333, '-o', output, '--', buildWorkload('fork-exec'), '19', '--fork', '23']);
  const result = await run.session;
  t.deepEqual(await leftoversAfter(run), []);
  t.is(result.exitCode, 5, run.stderr());
  t.is(run.stdout(), 'allocated 19\nallocated 23\n');
  const profile = readReport<MallocProfile>(output)!;
  t.is(profile.totals.allocs, 19);
  t.is(profile.totals.outstanding, 19);
  t.false(profile.partial, profile.partialReason ?? '');
});
