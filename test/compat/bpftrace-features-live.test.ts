// What memtrace detects in the bpftrace under test (LIVE_BPFTRACE: the host's 0.17, or Debian 13's
// 0.23 in the compat run) is checked against what that bpftrace does: an offset probe on free counts
// exactly the workload's frees, or is refused; a `-p` trace sees other processes' calls, or not.
// MEMTRACE_COMPAT_EXPECT (set by .ci/run for each leg) names the features the leg must find.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { probeBpftraceFeatures, type BpftraceFeatures } from '../../src/run/bpftrace-features.js';
import { readElf } from '../../src/symbols/elf.js';
import { findFreeBody } from '../../src/symbols/elf-alias.js';
import { LIVE_BPFTRACE, liveTest } from '../helpers/live.js';
import { compileFixture, makeTemporaryDirectory, SYSTEM_LIBC } from '../symbols/helpers.js';

const temporary = makeTemporaryDirectory('compat-live');
test.after.always(() => temporary.cleanup());
const featuresReady: Promise<BpftraceFeatures> = probeBpftraceFeatures(LIVE_BPFTRACE);

const EXPECTED = process.env.MEMTRACE_COMPAT_EXPECT;
if (EXPECTED !== undefined) {
  liveTest(`this leg's bpftrace has exactly the expected features (${EXPECTED || 'none'})`, async (t) => {
    const features = await featuresReady;
    const found = (['offsetUprobes', 'pidScopedUprobes', 'dwarfStacks', 'mapDeclarations'] as const).filter((name) => features[name]);
    t.deepEqual(found, EXPECTED.split(',').filter(Boolean));
  });
}

liveTest('offset uprobes: free+BODY and free+NULL count exactly 23 frees and 5 free(NULL), or bpftrace refuses the offset', async (t) => {
  const features = await featuresReady;
  const body = await findFreeBody(await readElf(SYSTEM_LIBC));
  t.not(body, null, 'glibc free starts with the NULL test');
  const program = compileFixture('frees-23.c', join(temporary.dir, 'frees-23'));
  const script = [
    `uprobe:${SYSTEM_LIBC}:free+${body!.bodyOffset} /pid == cpid/ { @body = count(); }`,
    `uprobe:${SYSTEM_LIBC}:free+${body!.nullReturnOffset} /pid == cpid/ { @null = count(); }`,
  ].join('\n');
  const run = spawnSync(LIVE_BPFTRACE, ['-e', script, '-c', program], { encoding: 'utf8', timeout: 120_000 });
  if (features.offsetUprobes) {
    t.is(run.status, 0, run.stderr);
    const counts = Object.fromEntries([...run.stdout.matchAll(/^@(\w+): (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    t.deepEqual(counts, { body: 23, null: 5 });
  } else {
    t.not(run.status, 0);
    t.regex(run.stderr, /offset/i);
  }
});

liveTest('per-PID uprobes: a -p trace of one process sees other processes calling free only when they are not per-PID', async (t) => {
  const features = await featuresReady;
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const neighbour = spawn('/bin/sh', ['-c', 'while :; do ls / > /dev/null; done'], { stdio: 'ignore' });
  try {
    const script = `uprobe:${SYSTEM_LIBC}:free { @[pid] = count(); } interval:s:2 { exit(); }`;
    const run = spawnSync(LIVE_BPFTRACE, ['-p', String(sleeper.pid), '-e', script], { encoding: 'utf8', timeout: 120_000 });
    t.is(run.status, 0, run.stderr);
    const others = [...run.stdout.matchAll(/^@\[(\d+)\]: (\d+)$/gm)].filter((m) => Number(m[1]) !== sleeper.pid);
    if (features.pidScopedUprobes)
      t.deepEqual(
        others.map((m) => m[0]),
        [],
      );
    else t.true(others.length > 0, run.stdout);
  } finally {
    neighbour.kill('SIGKILL');
    sleeper.kill('SIGKILL');
  }
});
