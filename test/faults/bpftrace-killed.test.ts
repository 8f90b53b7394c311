// bpftrace SIGKILLed at seeded random moments in each phase of a trace — while it attaches its probes
// (before BEGIN's marker), while it traces, and while it prints its maps after memtrace's SIGINT —
// for malloc (launched and attached) and faults. Each run checks memtrace's exit code and message,
// the report (none before tracing started; marked partial, saying what was lost, after), the target
// (a launched command never ran or ran to its end; an attached one alive and not stopped) and that
// no bpftrace, setpriv or watchdog shell is left behind.
import type { ExecutionContext } from 'ava';
import type { FaultsProfile } from '../../src/model/faults-profile.js';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import {
  leftoversAfter,
  readReport,
  startMemtrace,
  startWaitingWorkload,
  temporary,
  untilTracing,
  type FaultRun,
  type Phase,
} from '../helpers/faults.js';
import { KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { liveTest } from '../helpers/live.js';
import { processInfo, seededRandom, sleep } from '../helpers/processes.js';
import { buildWorkload } from '../helpers/workloads.js';

const random = seededRandom('bpftrace-killed');
/** Enough kept blocks (26 a round) that bpftrace's printing of @live takes a while to kill into. */
const ROUNDS = '400';

/** Kills the run's bpftrace at a random moment of `phase`; returns the delay used and whether BEGIN had been seen. */
async function killBpftrace(run: FaultRun, phase: Phase, stop?: () => void): Promise<{ delayMs: number; afterBegin: boolean }> {
  const bpftrace = await run.tracer();
  let delayMs: number;
  if (phase === 'attach') {
    // bpftrace takes ~0.3-1 s to attach here: a moment inside that window.
    delayMs = random.next(0, 250);
  } else if (phase === 'tracing') {
    await untilTracing(run);
    delayMs = random.next(50, 600);
  } else {
    await untilTracing(run);
    await sleep(300);
    stop?.();
    delayMs = random.next(0, 120);
  }
  await sleep(delayMs);
  const afterBegin = run.tracing();
  process.kill(bpftrace.pid, 'SIGKILL');
  return { delayMs, afterBegin };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function assertPartialAfterKill(t: ExecutionContext, partialReason: string | null, phase: Phase, complete: boolean) {
  if (phase === 'printing') {
    // Either bpftrace had printed everything before the kill (the report is the interrupted one,
    // with every figure), or it died while printing and the report must say its maps were lost.
    if (partialReason === 'interrupted by SIGINT') t.true(complete, 'a report that claims to be only interrupted must be complete');
    else
      t.regex(
        partialReason ?? '',
        /^interrupted by SIGINT; then bpftrace was killed by SIGKILL while printing its maps: what it had not printed is lost/,
      );
  } else {
    t.is(partialReason, 'bpftrace was killed by SIGKILL: what it had not printed is lost');
  }
}

for (const phase of ['attach', 'tracing', 'printing'] as const) {
  {
    liveTest(`malloc, launched: bpftrace killed during ${phase}`, async (t) => {
      const output = temporary('report.json');
      const run = startMemtrace([
        'malloc',
        '-o',
        output,
        '--',
        buildWorkload('known-allocs'),
        '--rounds',
        ROUNDS,
        '--linger',
        phase === 'printing' ? '3' : '1',
      ]);
      const { delayMs, afterBegin } = await killBpftrace(run, phase, () => run.session.kill('SIGINT'));
      const result = await run.session;
      t.log(`killed ${delayMs} ms into ${phase}; BEGIN seen before the kill: ${afterBegin}`);
      t.deepEqual(await leftoversAfter(run), [], 'nothing memtrace started may outlive it');
      const profile = readReport<MallocProfile>(output);
      if (phase === 'attach' && !afterBegin && !/memtrace: tracing/.test(run.stderr())) {
        t.is(result.exitCode, 4, run.stderr());
        t.regex(run.stderr(), /memtrace-bpf: bpftrace \(.*\) was killed by SIGKILL before tracing started without a message/);
        t.is(profile, null);
        t.false(run.stdout().includes('allocated'), 'the command must not have run a line');
        return;
      }
      // The command ran to its normal end (its exit code is memtrace's, its output intact).
      t.is(result.exitCode, 7, run.stderr());
      t.is(run.stdout(), 'allocated\n');
      t.not(profile, null);
      t.true(profile!.partial);
      const complete = profile!.totals.allocs === KNOWN_TOTALS.allocs * Number(ROUNDS);
      assertPartialAfterKill(t, profile!.partialReason, phase, complete);
      t.regex(run.stderr(), new RegExp(`memtrace: the report is partial: ${escape(profile!.partialReason!)}\n`));
    });
  }
}

for (const phase of ['attach', 'tracing', 'printing'] as const) {
  liveTest(`malloc -p PID: bpftrace killed during ${phase}; the target runs on, not stopped`, async (t) => {
    const { target, pid } = await startWaitingWorkload(['--rounds', ROUNDS, '--linger', '6']);
    const output = temporary('report.json');
    const run = startMemtrace(['malloc', '-p', String(pid), '-o', output]);
    void untilTracing(run).then(
      () => process.kill(pid, 'SIGUSR1'),
      () => {},
    );
    const { delayMs, afterBegin } = await killBpftrace(run, phase, () => run.session.kill('SIGINT'));
    const result = await run.session;
    t.log(`killed ${delayMs} ms into ${phase}; BEGIN seen before the kill: ${afterBegin}`);
    t.deepEqual(await leftoversAfter(run, [pid]), []);
    const state = processInfo(pid)?.state;
    t.truthy(state, 'the target must still be alive');
    t.false(state === 'T' || state === 't', `the target must not be left stopped (state ${state})`);
    const profile = readReport<MallocProfile>(output);
    if (!afterBegin && !/memtrace: tracing/.test(run.stderr())) {
      t.is(result.exitCode, 4, run.stderr());
      t.regex(run.stderr(), /bpftrace \(.*\) was killed by SIGKILL before tracing started/);
      t.is(profile, null);
      process.kill(pid, 'SIGUSR1');
    } else {
      t.true(profile!.partial);
      assertPartialAfterKill(t, profile!.partialReason, phase, false);
      // 4: bpftrace failed; 0 when it had printed everything before the kill.
      t.is(result.exitCode, profile!.partialReason === 'interrupted by SIGINT' ? 0 : 4, run.stderr());
      t.regex(run.stderr(), new RegExp(`memtrace: the report is partial: ${escape(profile!.partialReason!)}\n`));
    }
    target.kill('SIGKILL');
    await target;
  });
}

for (const phase of ['attach', 'tracing', 'printing'] as const) {
  liveTest(`faults, launched: bpftrace killed during ${phase}`, async (t) => {
    const output = temporary('faults.json');
    const run = startMemtrace(['faults', '-o', output, '--', '/bin/sh', '-c', `${buildWorkload('touch-pages')}; sleep 2; echo ran-to-end`]);
    const { delayMs, afterBegin } = await killBpftrace(run, phase, () => run.session.kill('SIGINT'));
    const result = await run.session;
    t.log(`killed ${delayMs} ms into ${phase}; BEGIN seen before the kill: ${afterBegin}`);
    t.deepEqual(await leftoversAfter(run), []);
    const profile = readReport<FaultsProfile>(output);
    if (phase === 'attach' && !afterBegin && !/memtrace: tracing/.test(run.stderr())) {
      t.is(result.exitCode, 4, run.stderr());
      t.regex(run.stderr(), /bpftrace \(.*\) was killed by SIGKILL before tracing started/);
      t.is(profile, null);
      t.false(run.stdout().includes('ran-to-end'));
      return;
    }
    t.is(result.exitCode, 0, run.stderr());
    t.is(run.stdout(), 'touched\nran-to-end\n');
    t.true(profile!.partial);
    assertPartialAfterKill(t, profile!.partialReason, phase, false);
  });
}
