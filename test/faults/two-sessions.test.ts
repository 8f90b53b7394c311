// Two memtrace sessions on the same target at once: two `malloc -p PID` (both programs stop the
// target in exit() to read its maps, and each continues it), and malloc beside gc on one node.
// Measured: both sessions work and report the workload's exact figures; neither leaves the target
// stopped or a process of its own behind.
import { execa } from 'execa';
import type { GcLog } from '../../src/model/gc-log.js';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { waitForLine } from '../helpers/cli.js';
import { leftoversAfter, readReport, startMemtrace, startWaitingWorkload, temporary, untilTracing } from '../helpers/faults.js';
import { KNOWN_STACKS, KNOWN_TOTALS, stacksOf } from '../helpers/known-allocs.js';
import { liveTest } from '../helpers/live.js';
import { processInfo } from '../helpers/processes.js';
import { ROOT } from '../helpers/workloads.js';

liveTest('two malloc -p PID at once: both report the exact figures, the target ends normally', async (t) => {
  const { target, pid } = await startWaitingWorkload(['--linger', '1']);
  const outputs = [temporary('first.json'), temporary('second.json')];
  const runs = outputs.map((output) => startMemtrace(['malloc', '-p', String(pid), '-o', output]));
  await Promise.all(runs.map((run) => untilTracing(run)));
  process.kill(pid, 'SIGUSR1');
  const results = await Promise.all(runs.map((run) => run.session));
  const finished = await target;
  t.is(finished.exitCode, 7);
  t.is(`${finished.stdout}`, `ready ${pid}\nallocated`);
  for (const [index, run] of runs.entries()) {
    t.is(results[index]!.exitCode, 0, run.stderr());
    t.deepEqual(await leftoversAfter(run), []);
    const profile = readReport<MallocProfile>(outputs[index]!)!;
    t.false(profile.partial, profile.partialReason ?? '');
    t.deepEqual({ ...profile.totals }, KNOWN_TOTALS, `session ${index + 1}`);
    for (const [name, expected] of Object.entries(KNOWN_STACKS)) {
      const { stacks: _stacks, ...sums } = stacksOf(profile, name);
      t.deepEqual(sums, expected, `session ${index + 1}: ${name}`);
    }
  }
});

const FORCED = 23;

liveTest('malloc and gc on one node at once: gc counts its 23 forced collections, malloc completes', async (t) => {
  const target = execa('node', ['--expose-gc', `${ROOT}test/workloads/node/gc-forced.js`, String(FORCED), '--wait'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
  const mallocOut = temporary('malloc.json');
  const gcOut = temporary('gc.json');
  const malloc = startMemtrace(['malloc', '-p', String(pid), '-o', mallocOut]);
  const gc = startMemtrace(['gc', '-p', String(pid), '-o', gcOut]);
  await Promise.all([untilTracing(malloc), untilTracing(gc)]);
  process.kill(pid, 'SIGUSR2');
  const [mallocResult, gcResult, finished] = await Promise.all([malloc.session, gc.session, target]);
  t.is(finished.exitCode, 0, `${finished.stderr}`);
  t.is(mallocResult.exitCode, 0, malloc.stderr());
  t.is(gcResult.exitCode, 0, gc.stderr());
  t.deepEqual(await leftoversAfter(malloc), []);
  t.deepEqual(await leftoversAfter(gc), []);
  const log = readReport<GcLog>(gcOut)!;
  t.is(log.partialReason, null);
  t.is(log.collections.filter((collection) => collection.reason === 'testing').length, FORCED);
  const profile = readReport<MallocProfile>(mallocOut)!;
  t.false(profile.partial, profile.partialReason ?? '');
  t.true(profile.totals.allocs > 0);
  t.is(processInfo(pid), null);
});
