// memtrace-bpf malloc -p PID: attaching to a running process, and what happens when things end early.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { DEBIAN_PYTHON, file, needing, PYTHON_NEED } from '../helpers/needs.js';
import { memtrace, MEMTRACE_BPF, waitForLine } from '../helpers/cli.js';
import { KNOWN_TOTALS, KNOWN_STACKS, stacksOf } from '../helpers/known-allocs.js';
import { sleep } from '../helpers/processes.js';
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
  // The trace lasts 3 s from bpftrace's start: the allocations and frees must all fall inside it, and
  // once (a paired pass with more traces running beside it) 1 s was not enough for the signal to reach
  // the target and the target to finish freeing (98 blocks outstanding, not 26). It lingers well past.
  const { target, pid } = await startWaitingWorkload(12);
  const output = temporary('report.json');
  const session = memtrace(['malloc', '-p', String(pid), '--duration', '3s', '-o', output]);
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

/**
 * memtrace tracing Debian's python3 with its json report (600 KB) on a pipe the test stops reading
 * after the first byte: nothing else goes to that stdout, so the session is then over and memtrace
 * is writing the report, waiting for the pipe (64 KiB) to drain. `drain` reads the rest.
 */
async function blockedWritingReport(t: ExecutionContext) {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-fifo-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const fifo = join(directory, 'stdout');
  execFileSync('mkfifo', [fifo]);
  // Two opens, so that the test's reads stay non-blocking whatever memtrace makes of its stdout.
  const writeEnd = openSync(fifo, constants.O_RDWR);
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => {
    closeSync(fd);
    closeSync(writeEnd);
  });
  const child = spawn(process.execPath, [MEMTRACE_BPF, 'malloc', '-f', 'json', '-o', '-', '--', DEBIAN_PYTHON, '-c', 'pass'], {
    stdio: ['ignore', writeEnd, 'pipe'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65536);
  const readSome = (length: number): number => {
    try {
      const count = readSync(fd, buffer, 0, length, null);
      chunks.push(Buffer.from(buffer.subarray(0, count)));
      return count;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      return 0;
    }
  };
  const deadline = Date.now() + 60_000;
  while (readSome(1) === 0) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`memtrace wrote no report:\n${stderr}`);
    await sleep(20);
  }
  const drain = async (): Promise<string> => {
    for (;;) {
      if (readSome(buffer.length) > 0) continue;
      if (child.exitCode !== null || child.signalCode !== null) return Buffer.concat(chunks).toString();
      await sleep(5);
    }
  };
  return { child, exited, drain, stderr: () => stderr };
}

needing([PYTHON_NEED], liveTest)('Ctrl-C while the report is written: it is written whole; a second one leaves at once', async (t) => {
  const first = await blockedWritingReport(t);
  first.child.kill('SIGINT');
  await sleep(300);
  t.is(first.child.exitCode, null, 'memtrace is still writing');
  const report = await first.drain();
  t.deepEqual(await first.exited, { code: 0, signal: null }, first.stderr());
  t.regex(
    first.stderr(),
    /memtrace: SIGINT: the trace has ended; writing the report of what it gathered first \(SIGINT again leaves at once\)/,
  );
  const profile = JSON.parse(report) as MallocProfile;
  t.false(profile.partial, "the trace itself ended with its target's exit");
  t.true(profile.totals.allocs > 1000, `${profile.totals.allocs} allocations`);

  const second = await blockedWritingReport(t);
  second.child.kill('SIGINT');
  await sleep(300);
  second.child.kill('SIGINT');
  await second.drain();
  t.deepEqual(await second.exited, { code: 130, signal: null }, second.stderr());
});

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
