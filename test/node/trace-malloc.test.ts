import { readFileSync } from 'node:fs';
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { reduceHeapProfile, type V8HeapProfile } from '../../src/model/js-heap-profile.js';
import { isOwnFrame, traceMalloc, type TraceMallocReport } from '../../src/node/trace-malloc.js';
import { fixture } from '../helpers/workloads.js';

const MIB = 1024 * 1024;
// 65,536 arrays of 128 doubles, each a JSArray (32 B) and its FixedDoubleArray (16 + 1,024 B).
const ALLOCATED = 65_536 * 1072;

function holdSixtyFourMiB(): number[][] {
  const held = new Array<number[]>(65_536);
  for (let index = 0; index < held.length; index += 1) held[index] = new Array<number>(128).fill(index + 0.5);
  return held;
}

test.serial('a block that allocates 67 MiB: most sampled bytes at that function, total within the sampling error', async (t) => {
  const { result, report } = await traceMalloc(() => holdSixtyFourMiB().length);
  t.is(result, 65_536);
  const top = report.sites[0]!;
  t.is(top.function, 'holdSixtyFourMiB');
  t.regex(top.file, /test\/node\/trace-malloc\.test\.ts$/);
  t.true(top.bytes / report.totals.bytes > 0.95, `${(top.bytes / report.totals.bytes) * 100}% at the function`);
  // About 2,100 samples: the relative error of the estimate is about 1/sqrt(2100) ≈ 2.2%; allow 4σ.
  t.true(Math.abs(top.bytes - ALLOCATED) < ALLOCATED * 0.09, `${top.bytes / MIB} MiB estimated, ${ALLOCATED / MIB} MiB allocated`);
  t.true(top.count > 1500);
  t.regex(report.top(3), /holdSixtyFourMiB {2}file:.*trace-malloc\.test\.ts:\d+/);
  t.like(report.header, { tool: 'trace-malloc', mode: 'allocated', samplingInterval: 32768, groupBy: 'line' });
  t.true(Array.isArray(report.profile.samples) && typeof report.profile.head === 'object');
  t.deepEqual(Object.keys(JSON.parse(JSON.stringify(report))).sort(), ['header', 'overhead', 'sites', 'stacks', 'totals']);
});

test.serial('retained: what the block allocated and dropped is gone; what it keeps is there', async (t) => {
  let kept: unknown = null;
  const dropped = await traceMalloc(() => void holdSixtyFourMiB(), { mode: 'retained' });
  t.true(dropped.report.totals.bytes < 4 * MIB, `${dropped.report.totals.bytes} B retained after dropping`);
  const keeping = await traceMalloc(() => void (kept = holdSixtyFourMiB()), { mode: 'retained' });
  t.true(keeping.report.totals.bytes > 50 * MIB);
  t.is(keeping.report.sites[0]!.function, 'holdSixtyFourMiB');
  kept = null;
  t.is(kept, null);
});

test.serial('a block that throws: the report is still made, attached to the error, and the error re-thrown', async (t) => {
  const error = await t.throwsAsync(
    traceMalloc(() => {
      holdSixtyFourMiB();
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  const report = (error as Error & { memtraceReport?: TraceMallocReport }).memtraceReport!;
  t.is(report.error, 'boom');
  t.is(report.sites[0]!.function, 'holdSixtyFourMiB');
  t.regex(report.top(), /THE BLOCK THREW: boom/);
});

test.serial("an empty block: nothing (or next to nothing) sampled, the profiler's own share counted apart", async (t) => {
  const { report } = await traceMalloc(() => {});
  t.true(report.totals.bytes <= 2 * 32 * 1024, `${report.totals.bytes} B sampled in an empty block`);
  t.true(report.overhead.bytes >= 0);
});

test('bad options are usage errors', async (t) => {
  await t.throwsAsync(
    traceMalloc(() => {}, { samplingInterval: 0 }),
    { instanceOf: UsageError },
  );
  await t.throwsAsync(
    traceMalloc(() => {}, { mode: 'live' as 'retained' }),
    { instanceOf: UsageError },
  );
  await t.throwsAsync(
    traceMalloc(() => {}, { groupBy: 'module' as 'line' }),
    { instanceOf: UsageError },
  );
  await t.throwsAsync(traceMalloc(42 as unknown as () => void), { instanceOf: UsageError });
});

test("a recorded profile: sites by line, function, file and stack; memtrace's own frames are overhead", (t) => {
  const profile = JSON.parse(readFileSync(fixture('v8/hold-arrays.heapprofile'), 'utf8')) as V8HeapProfile;
  const byLine = reduceHeapProfile(profile, { groupBy: 'line', samplingInterval: 32768, isOwnFrame });
  t.like(byLine.sites[0], { function: 'holdSixtyFourMiB', line: 9 });
  t.regex(byLine.sites[0]!.file, /hold-arrays\.js$/);
  t.true(byLine.sites[0]!.bytes / byLine.totals.bytes > 0.95);
  const total = profile.samples.reduce((sum, sample) => sum + sample.size, 0);
  t.is(byLine.totals.bytes + byLine.overhead.bytes, total, 'every sampled byte is in a site or in the overhead');
  t.is(byLine.totals.count + byLine.overhead.samples, profile.samples.length);
  const byFile = reduceHeapProfile(profile, { groupBy: 'file', samplingInterval: 32768, isOwnFrame });
  t.like(byFile.sites[0], { function: '', line: 0 });
  t.is(byFile.totals.bytes, byLine.totals.bytes);
  const byStack = reduceHeapProfile(profile, { groupBy: 'stack', samplingInterval: 32768, isOwnFrame });
  t.regex(byStack.sites[0]!.stack!, /;holdSixtyFourMiB \(hold-arrays\.js:9\)$/);
  const none = reduceHeapProfile(profile, { groupBy: 'line', samplingInterval: 32768, isOwnFrame: () => true });
  t.is(none.sites.length, 0);
  t.is(none.overhead.bytes, total);
});
