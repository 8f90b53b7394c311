// memtrace report on a raw log of memtrace-dtrace malloc recorded on DTrace for Linux 2.0.7
// (test/fixtures/dtrace/linux-2.0.7/malloc-known-allocs.raw.txt): the frames DTrace printed as
// module:0xOFF or 0xADDR are named from the maps and names the log recorded, on any machine.
import test from 'ava';
import { ParseError } from '../../../src/errors.js';
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

test('a raw log of another tool read as a DTrace malloc log: a ParseError, and under --lenient its symbols record skipped, not a crash', async (t) => {
  // Found by test/props/parsers.test.ts: a faults raw log names its frames by other keys, which
  // --lenient read as hex addresses (BigInt("0xleaves") threw a SyntaxError).
  const path = fixture('bpftrace/debian12-0.17/faults-raw-attach.ndjson');
  const error = await t.throwsAsync(() => readMallocDtraceLog(path, { lenient: false }), { instanceOf: ParseError });
  t.regex(error!.message, /faults-raw-attach\.ndjson:1: not valid memtrace's DTrace malloc output/);
  const lenient = await readMallocDtraceLog(path, { lenient: true });
  t.true(lenient.losses.skippedLines > 0);
});
