// memtrace-dtrace malloc on a real DTrace (DTrace for Linux: MEMTRACE_DTRACE_LIVE names its wrapper),
// launched and attached, on known-allocs: the exact figures of test/helpers/known-allocs.ts, every
// stack named as memtrace-bpf names it (make_small ← main ← __libc_start_call_main) although DTrace
// prints most frames after the target has exited, and a raw log that re-renders to the same report.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { MEMTRACE_DTRACE, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { KNOWN_FUNCTIONS, KNOWN_STACKS, KNOWN_TOTALS, functionsByName, stacksOf } from '../helpers/known-allocs.js';
import { liveDtrace, liveDtraceTest } from '../helpers/live-dtrace.js';
import { buildWorkload } from '../helpers/workloads.js';

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

function memtraceDtrace(args: string[]) {
  return execa(process.execPath, [MEMTRACE_DTRACE, 'malloc', '--lib', 'libc.so.6', '--tracer-path', liveDtrace()!, ...args], {
    reject: false,
    timeout: 120_000,
  });
}

/** What every run of known-allocs must show, whoever printed which frame. */
function assertKnownProfile(t: ExecutionContext, profile: MallocProfile): void {
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  const functions = functionsByName(profile);
  for (const [name, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[name], expected, name);
  for (const [name, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks, ...sums } = stacksOf(profile, name);
    t.deepEqual(sums, expected, name);
    // At a pid return probe the leaf is the allocator's caller (the allocator is not a frame), as at a uretprobe.
    for (const stack of stacks) {
      t.deepEqual(
        stack.frames.map((frame) => `${frame.name} (${frame.module})`),
        ['__libc_start_call_main (libc.so.6)', 'main (known-allocs)', `${name} (known-allocs)`],
      );
    }
  }
  // Two call sites in grow_chain (realloc(NULL, 64), then the loop): two stacks, as bpftrace keys them.
  t.is(stacksOf(profile, 'grow_chain').stacks.length, 2);
  t.is(profile.stacks.length, 7);
  t.is(profile.losses.unsymbolizedFrames, 0);
  t.is(profile.losses.untrackedLiveBlocks, 0);
  t.is(profile.losses.unattributedAllocs, 0);
}

/** The raw log re-rendered by `memtrace report`: the same profile, from the maps and names it recorded. */
async function assertReportAgrees(t: ExecutionContext, raw: string, live: MallocProfile): Promise<void> {
  const again = temporary('again.json');
  const report = await memtraceAuto(['report', raw, '-f', 'json', '-o', again]);
  t.is(report.exitCode, 0, `${report.stderr}`);
  const replayed = JSON.parse(readFileSync(again, 'utf8')) as MallocProfile;
  t.deepEqual(replayed.totals, live.totals);
  t.deepEqual(replayed.stacks, live.stacks);
}

liveDtraceTest(
  'launched (-- CMD): exact figures, every stack named by memtrace from the maps read while dtrace held the command',
  async (t) => {
    const output = temporary('report.json');
    const raw = temporary('raw.txt');
    const traced = await memtraceDtrace(['-o', output, '--raw-out', raw, '--', buildWorkload('known-allocs')]);
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    assertKnownProfile(t, profile);
    t.is(profile.tracer.name, 'dtrace');
    // free past its NULL test (offset probes), and still every free and free(NULL) counted exactly.
    t.regex(profile.tracer.choices?.[0] ?? '', /^free probed at free:[0-9a-f]+, past its NULL test .*; free\(NULL\) at free:[0-9a-f]+$/);
    t.true(Number.isInteger(profile.target.pid), 'the PID the program printed');
    // The program asked DTrace not to name frames: what it printed is module:0xOFFSET while the
    // command lived and 0xADDR after; no frame in the log is named by DTrace.
    const log = readFileSync(raw, 'utf8');
    t.regex(log, /^memtrace:pid \d+$/m);
    t.notRegex(log, /^\s*known-allocs`/m);
    await assertReportAgrees(t, raw, profile);
  },
);

liveDtraceTest('attached (-p PID): exact figures and named stacks; the target runs to its end', async (t) => {
  const target = execa(buildWorkload('known-allocs'), ['--wait', '--linger', '1'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
  const output = temporary('report.json');
  const raw = temporary('raw.txt');
  const session = memtraceDtrace(['-p', String(pid), '-o', output, '--raw-out', raw]);
  await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+ with DTrace/);
  process.kill(pid, 'SIGUSR1');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(finished.exitCode, 7);
  t.is(`${finished.stdout}`, `ready ${pid}\nallocated`);
  const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
  t.is(profile.target.pid, pid);
  assertKnownProfile(t, profile);
  await assertReportAgrees(t, raw, profile);
});
