// memtrace-bpf malloc -p PID: attaching to a running process, and what happens when things end early.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { file, needing } from '../helpers/needs.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { KNOWN_TOTALS, KNOWN_STACKS, stacksOf } from '../helpers/known-allocs.js';
import { buildWorkload } from '../helpers/workloads.js';

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

/** Starts known-allocs held before its allocations; SIGUSR1 lets it go. */
async function startWaitingWorkload(linger: number) {
  const target = execa(buildWorkload('known-allocs'), ['--wait', '--linger', String(linger)], { reject: false });
  const ready = await waitForLine(target.stdout!, /^ready \d+$/);
  return { target, pid: Number(ready.split(' ')[1]) };
}

/** The bpftrace processes tracing `pid` (no shell: pgrep would match the shell's own command line). */
function bpftraceFor(pid: number): string {
  try {
    return execFileSync('pgrep', ['-af', `bpftrace --no-warnings -f json -p ${pid} `], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

liveTest('attached by PID: exact figures, and the target exiting mid-trace ends the trace with a full report', async (t) => {
  const { target, pid } = await startWaitingWorkload(1);
  const output = temporary('report.json');
  const session = memtrace(['malloc', '-p', String(pid), '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
  process.kill(pid, 'SIGUSR1');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(finished.exitCode, 7);
  t.is(`${finished.stdout}`, `ready ${pid}\nallocated`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.false(profile.partial);
  t.is(profile.target.pid, pid);
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  for (const [name, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks: _stacks, ...sums } = stacksOf(profile, name);
    t.deepEqual(sums, expected, name);
  }
});

liveTest('--duration ends an attached trace and leaves the target running', async (t) => {
  // Lingers well past the 1 s trace plus bpftrace's start and exit.
  const { target, pid } = await startWaitingWorkload(10);
  const output = temporary('report.json');
  const session = memtrace(['malloc', '-p', String(pid), '--duration', '1s', '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing/);
  process.kill(pid, 'SIGUSR1');
  const traced = await session;
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.true(existsSync(`/proc/${pid}/stat`), 'target still running after the trace');
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.false(profile.partial);
  t.is(profile.totals.allocs, KNOWN_TOTALS.allocs);
  // Still alive at the end of the trace: the outstanding blocks are the ones it keeps.
  t.is(profile.totals.outstanding, KNOWN_TOTALS.outstanding);
  t.is(bpftraceFor(pid), '');
  const finished = await target;
  t.is(finished.exitCode, 7);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  liveTest(`${signal} to memtrace: the report of what was gathered is written, marked partial`, async (t) => {
    const output = temporary('report.json');
    const session = memtrace(['malloc', '-o', output, '--', buildWorkload('known-allocs'), '--linger', '3']);
    await waitForLine(session.stderr!, /memtrace: tracing/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    session.kill(signal);
    const traced = await session;
    // The command was not interrupted: it ran to its end, and its exit code is memtrace's.
    t.is(traced.exitCode, 7, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.true(profile.partial);
    t.is(profile.partialReason, `interrupted by ${signal}`);
    t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
    t.is(stacksOf(profile, 'make_pages').outstanding, 13);
  });
}

liveTest('bpftrace dying mid-trace: a partial report that says so, and the command runs on', async (t) => {
  const output = temporary('report.json');
  const session = memtrace(['malloc', '-o', output, '--', buildWorkload('known-allocs'), '--linger', '3']);
  const started = await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
  const pid = Number(/in PID (\d+)/.exec(started)![1]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  execFileSync('pkill', ['-KILL', '-f', `bpftrace --no-warnings -f json -p ${pid} `]);
  const traced = await session;
  t.is(traced.exitCode, 7, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.true(profile.partial);
  t.is(profile.partialReason, 'bpftrace was killed by SIGKILL: what it had not printed is lost');
});

liveTest('memtrace killed by SIGKILL: the attached target runs on unharmed and no bpftrace is left', async (t) => {
  const { target, pid } = await startWaitingWorkload(1);
  const session = memtrace(['malloc', '-p', String(pid), '-o', temporary('r.json')]);
  await waitForLine(session.stderr!, /memtrace: tracing/);
  session.kill('SIGKILL');
  await session;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(bpftraceFor(pid), '', 'the tracer must not outlive memtrace');
  process.kill(pid, 'SIGUSR1');
  const finished = await target;
  t.is(finished.exitCode, 7);
  t.is(`${finished.stdout}`, `ready ${pid}\nallocated`);
});

liveTest('memtrace killed by SIGKILL: a launched command runs to its end with unchanged output', async (t) => {
  const outputFile = temporary('command-output.txt');
  const session = execa(
    process.execPath,
    [
      `${process.cwd()}/bin/memtrace-bpf.js`,
      'malloc',
      '-o',
      temporary('r.json'),
      '--',
      '/bin/sh',
      '-c',
      `${buildWorkload('known-allocs')} --linger 2 > ${outputFile}; echo "exit $?" >> ${outputFile}`,
    ],
    { reject: false },
  );
  const started = await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
  const pid = Number(/in PID (\d+)/.exec(started)![1]);
  session.kill('SIGKILL');
  await session;
  await new Promise((resolve) => setTimeout(resolve, 4000));
  t.is(readFileSync(outputFile, 'utf8'), 'allocated\nexit 7\n');
  t.is(bpftraceFor(pid), '');
});

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

needing([file(JEMALLOC, 'libjemalloc2')], liveTest)('a preloaded jemalloc is the allocator probed, with exact figures', async (t) => {
  const target = execa(buildWorkload('known-allocs'), ['--wait', '--linger', '1'], { reject: false, env: { LD_PRELOAD: JEMALLOC } });
  const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
  const output = temporary('report.json');
  const session = memtrace(['malloc', '-p', String(pid), '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing/);
  process.kill(pid, 'SIGUSR1');
  const [traced] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.is(profile.allocator.library, JEMALLOC);
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  t.deepEqual(stacksOf(profile, 'make_pages').outstanding, 13);
});
