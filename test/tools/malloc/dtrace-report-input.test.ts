// memtrace report on a raw log of memtrace-dtrace malloc recorded on DTrace for Linux 2.0.7
// (test/fixtures/dtrace/linux-2.0.7/malloc-known-allocs.raw.txt): the frames DTrace printed as
// module:0xOFF or 0xADDR are named from the maps and names the log recorded, on any machine.
import test from 'ava';
import { readMallocDtraceLog } from '../../../src/tools/malloc/dtrace-report-input.js';
import { KNOWN_STACKS, KNOWN_TOTALS, stacksOf } from '../../helpers/known-allocs.js';
import { fixture } from '../../helpers/workloads.js';

test('linux-2.0.7/malloc-known-allocs.raw.txt: exact figures, every stack named as memtrace-bpf names it', async (t) => {
  const profile = await readMallocDtraceLog(fixture('dtrace/linux-2.0.7/malloc-known-allocs.raw.txt'), { lenient: false });
  t.false(profile.partial);
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  for (const [name, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks, ...sums } = stacksOf(profile, name);
    t.deepEqual(sums, expected, name);
    for (const stack of stacks)
      t.deepEqual(
        stack.frames.map((frame) => frame.name),
        ['__libc_start_call_main', 'main', name],
      );
  }
  t.is(profile.stacks.length, 7);
  t.is(profile.losses.unsymbolizedFrames, 0);
  t.is(profile.losses.untrackedLiveBlocks, 0);
});
