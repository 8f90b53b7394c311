import test from 'ava';
import { UsageError } from '../../../src/errors.js';
import { FrameTable, StackTrie } from '../../../src/model/stack-trie.js';
import type { BpftraceMaps, BpftraceStackMap } from '../../../src/parse/bpftrace-maps.js';
import { bpftraceMapsNotes, chooseStackMap } from '../../../src/tools/report/bpftrace-maps.js';

const stackMap = (name: string, entries: number): BpftraceStackMap => ({
  name,
  entries,
  stacks: new StackTrie(new FrameTable()),
  profile: { valueTypes: [{ name: 'count', unit: 'count' }], defaultValue: 'count', samples: [] },
});

function maps(overrides: Partial<BpftraceMaps> = {}): BpftraceMaps {
  return {
    stackMaps: [stackMap('@', 23), stackMap('@bytes', 11)],
    histograms: [],
    otherMaps: [],
    unprofiledMaps: [],
    attachedProbes: 2,
    lostEvents: 0,
    lostNotices: 0,
    lines: { malformed: 0, foreign: 0 },
    truncated: false,
    ...overrides,
  };
}

test('the first stack map by default; --map with or without its "@"', (t) => {
  const all = maps();
  t.is(chooseStackMap('x.txt', all, null), all.stackMaps[0]!);
  t.is(chooseStackMap('x.txt', all, 'bytes'), all.stackMaps[1]!);
  t.is(chooseStackMap('x.txt', all, '@bytes'), all.stackMaps[1]!);
  t.is(chooseStackMap('x.txt', maps({ stackMaps: [] }), null), null);
});

test('an unknown --map lists the maps there are, or says there are none', (t) => {
  t.throws(() => chooseStackMap('x.txt', maps(), 'sizes'), {
    instanceOf: UsageError,
    message: '--map sizes: x.txt has no stack map of that name; it has @, @bytes',
  });
  t.throws(() => chooseStackMap('x.txt', maps({ stackMaps: [] }), 'sizes'), {
    message: '--map sizes: x.txt has no stack map of that name; it has none',
  });
});

test('notes: nothing to say about a clean dump of one map', (t) => {
  const one = maps({ stackMaps: [stackMap('@', 23)] });
  t.deepEqual(bpftraceMapsNotes('x.txt', one, one.stackMaps[0]!), []);
});

test('notes: losses, damage and every map not shown, in that order', (t) => {
  const all = maps({
    lostEvents: 16_110,
    lostNotices: 13,
    truncated: true,
    lines: { malformed: 2, foreign: 3 },
    unprofiledMaps: ['@avg'],
    otherMaps: [
      { name: '@calls', entries: 1, text: '34' },
      { name: '@by_size', entries: 7, text: null },
    ],
  });
  t.deepEqual(bpftraceMapsNotes('x.txt', all, all.stackMaps[0]!), [
    'bpftrace lost 16,110 events in 13 "Lost N events" notices: printf and other perf-buffer output is missing; counts aggregated in maps are not affected',
    'x.txt ends inside a stack key (cut while bpftrace printed): the last entry is missing',
    '2 malformed lines skipped (--lenient)',
    'other stack maps (--map NAME): @bytes (11 entries)',
    'stack maps with non-integer values, not profiled: @avg',
    'values: @calls = 34',
    'maps without stacks: @by_size (7 entries)',
    "3 lines of other output (printf, the target's own)",
  ]);
});
