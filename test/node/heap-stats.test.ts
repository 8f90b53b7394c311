import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { diffSnapshots } from '../../src/model/heap-space-diff.js';
import { heapStats, type HeapStatsReport } from '../../src/node/heap-stats.js';

const MIB = 1024 * 1024;
// 65,536 arrays of 128 doubles: 1,072 B each (JSArray 32 B + FixedDoubleArray 16 + 1,024 B) = 67.0 MiB.
const EXPECTED_OLD_SPACE = 65_536 * 1072;
// What a block keeps reachable after it returns: written, never read, as the point is that it is
// reachable from here (a property, since a variable only written is an unused local to tsc).
const held: { value: unknown } = { value: null };

// First: after a block that released tens of MiB, V8 shrinks its spaces over the next GCs, a real
// change that an empty block measured then would report.
test.serial('an empty block: no used figure moves; at most V8 resizes a space on its own', async (t) => {
  const { report } = await heapStats(() => {});
  // What was used does not change. V8 may still resize a space between two GCs with nothing
  // allocated (seen once in CI: old_space.available), a capacity decision that is no noise of ours.
  const moved = report.differences.map((difference) => difference.name);
  t.deepEqual(
    moved.filter((name) => !/\.(size|available|physical)$|^heap\.total_|^process\.(heapTotal|rss)$/.test(name)),
    [],
    moved.join(', '),
  );
  // One space resized moves its size and physical figures and the heap's totals with them (seen in
  // CI: old_space.size, old_space.physical, heap.total_physical_size): count the spaces, not the figures.
  const spaces = new Set(moved.filter((name) => name.startsWith('space.')).map((name) => name.split('.')[1]));
  t.true(spaces.size <= 1, moved.join(', '));
  if (moved.length === 0) t.regex(report.table(), /No significant difference: all \d+ values stayed under the thresholds\./);
});

test.serial('a block that keeps 67 MiB of arrays alive: old space grew by that, to within 2%', async (t) => {
  const { result, report } = await heapStats(() => {
    const arrays = new Array(65_536);
    for (let index = 0; index < arrays.length; index += 1) arrays[index] = new Array(128).fill(index + 0.5);
    held.value = arrays;
    return arrays.length;
  });
  t.is(result, 65_536);
  const used = report.differences.find((difference) => difference.name === 'space.old_space.used');
  t.truthy(used, report.table());
  t.true(
    Math.abs(used!.adjusted - EXPECTED_OLD_SPACE) < EXPECTED_OLD_SPACE * 0.02,
    `old space grew by ${used!.adjusted / MIB} MiB, expected ${EXPECTED_OLD_SPACE / MIB}`,
  );
  const topSpace = report.differences.find((difference) => /^space\..*\.used$/.test(difference.name));
  t.is(topSpace?.name, 'space.old_space.used', 'the space that grew most is old space');
  t.regex(report.table(), /^space\.old_space\.used +[\d.]+ [KM]iB +[\d.]+ MiB +\+6\d\.\d MiB/m);
  t.deepEqual(JSON.parse(JSON.stringify(report)).thresholds, { minBytes: 64 * 1024, minRelative: 0.01 });
  held.value = null;
});

test.serial('a block that throws: the report is still made, attached to the error, and the error re-thrown', async (t) => {
  const error = await t.throwsAsync(
    heapStats(async () => {
      held.value = Array.from({ length: 100_000 }, (_, index) => ({ index }));
      throw new Error('boom');
    }),
    { message: 'boom' },
  );
  const report = (error as Error & { memtraceReport?: HeapStatsReport }).memtraceReport;
  t.truthy(report);
  t.is(report!.error, 'boom');
  t.true(
    report!.differences.some((difference) => difference.name === 'space.old_space.used' || difference.name === 'space.new_space.used'),
  );
  t.regex(report!.table(), /THE BLOCK THREW: boom/);
  held.value = null;
});

test('--all keeps every value; thresholds are checked', async (t) => {
  const { report } = await heapStats(() => {}, { all: true, gc: false });
  t.is(report.differences.length, report.compared);
  t.false(report.header.gc);
  await t.throwsAsync(
    heapStats(() => {}, { minBytes: -1 }),
    { instanceOf: UsageError },
  );
  await t.throwsAsync(
    heapStats(() => {}, { minRelative: Number.NaN }),
    { instanceOf: UsageError },
  );
  await t.throwsAsync(heapStats('nope' as unknown as () => void), { instanceOf: UsageError });
});

test('diff: noise is taken off towards zero; both thresholds must be passed; counts are counted', (t) => {
  const { differences, belowThreshold, compared } = diffSnapshots({
    before: { a: 1_000_000, b: 1_000_000, c: 100 * MIB, 'heap.number_of_native_contexts': 1, d: 0 },
    after: { a: 1_200_000, b: 1_010_000, c: 100 * MIB + 100_000, 'heap.number_of_native_contexts': 2, d: 70_000 },
    noise: { a: 50_000, b: 0 },
    thresholds: { minBytes: 64 * 1024, minRelative: 0.01 },
    countFields: ['heap.number_of_native_contexts'],
    all: false,
  });
  t.is(compared, 5);
  t.deepEqual(
    differences.map((difference) => [difference.name, difference.adjusted, difference.unit]),
    [
      ['a', 150_000, 'bytes'],
      ['d', 70_000, 'bytes'],
      ['heap.number_of_native_contexts', 1, 'count'],
    ],
  );
  t.is(differences.find((difference) => difference.name === 'd')!.relative, Infinity);
  t.is(belowThreshold, 2, 'b: under 64 KiB; c: under 1%');
});
