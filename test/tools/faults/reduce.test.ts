// reduceFaults on synthetic raw output: which frames a stack shows (the candidate caller kept only
// when it names a function the chain does not already show), the fault kinds and the partial reasons.
import test from 'ava';
import { emptyFaultsRaw, type FaultsRaw, type FaultsRawStack } from '../../../src/parse/faults-log.js';
import { reduceFaults, faultsFrameAddresses, type FaultsNames, type FrameName } from '../../../src/tools/faults/reduce.js';

const named = (name: string, module = 'prog'): FrameName => ({ name, module, resolved: true });
const NAMES: FaultsNames = {
  leaves: new Map([
    [0x1000n, named('memset', '/lib/libc.so.6')],
    [0x2000n, named('touch')],
  ]),
  callers: new Map([
    [0x3000n, named('fill')],
    [0x4000n, named('main')],
    [0x7ffe0000n, { name: '0x7ffe0000', module: '[stack]', resolved: false }],
  ]),
};

function rawWith(stacks: Array<Partial<FaultsRawStack> & { frames: FaultsRawStack['frames'] }>): FaultsRaw {
  const raw = { ...emptyFaultsRaw(), began: true, ended: true, complete: true };
  stacks.forEach((stack, index) => raw.stacks.set(String(index), { faults: 0, residentBytes: 0, brkBytes: 0, mmapBytes: 0, ...stack }));
  return raw;
}

const reduce = (raw: FaultsRaw, partialReason: string | null = null) =>
  reduceFaults(raw, {
    target: { pid: 7, command: null },
    tracer: { name: 'bpftrace', version: '0.17.0' },
    startedAt: null,
    durationSeconds: null,
    partialReason,
    pageSize: 4096,
    names: NAMES,
  });

test('a frameless leaf: the word at the stack pointer names its caller, between the leaf and the chain', (t) => {
  // given memset (no frame) called from fill, called from main
  const raw = rawWith([{ frames: { leaf: 0x1000n, candidate: 0x3000n, callers: [0x4000n] }, faults: 23, residentBytes: 23 * 4096 }]);
  // when
  const profile = reduce(raw);
  // then
  t.deepEqual(profile.stacks[0]!.frames, [
    { name: 'main', module: 'prog' },
    { name: 'fill', module: 'prog' },
    { name: 'memset', module: 'libc.so.6' },
  ]);
  t.is(profile.losses.unsymbolizedFrames, 0);
});

test('a leaf with its own frame: the word at the stack pointer is data and is dropped', (t) => {
  const raw = rawWith([{ frames: { leaf: 0x2000n, candidate: 0x7ffe0000n, callers: [0x4000n] }, faults: 29 }]);
  t.deepEqual(
    reduce(raw).stacks[0]!.frames.map((frame) => frame.name),
    ['main', 'touch'],
  );
});

test('the candidate equal to the first caller of the chain is not shown twice', (t) => {
  const raw = rawWith([{ frames: { leaf: 0x2000n, candidate: 0x4000n, callers: [0x4000n] }, faults: 1 }]);
  t.deepEqual(
    reduce(raw).stacks[0]!.frames.map((frame) => frame.name),
    ['main', 'touch'],
  );
});

test('unnamed frames are shown as hex and counted; a stack without frames says so', (t) => {
  const raw = rawWith([
    { frames: { leaf: 0x9000n, candidate: null, callers: [0x4000n] }, faults: 2 },
    { frames: { leaf: null, candidate: null, callers: [] }, faults: 3 },
  ]);
  const profile = reduce(raw);
  t.deepEqual(
    profile.stacks.map((stack) => stack.frames.map((frame) => frame.name)),
    [['[frames not recorded]'], ['main', '0x9000']],
  );
  t.is(profile.losses.unsymbolizedFrames, 1);
  t.true(profile.notes.some((note) => note.includes('the frame map was full')));
});

test('fault kinds from the error-code bits: P = 0 not present, P = 1 protection, W writes, I fetches', (t) => {
  const raw = rawWith([]);
  raw.faultKinds = new Map([
    [0, 5],
    [2, 23],
    [3, 7],
    [0x10, 2],
  ]);
  raw.faults = 37;
  const { totals } = reduce(raw);
  t.deepEqual(
    [totals.faults, totals.notPresentFaults, totals.protectionFaults, totals.writeFaults, totals.instructionFaults],
    [37, 30, 7, 30, 2],
  );
});

test('stacks sort by resident bytes, then faults', (t) => {
  const raw = rawWith([
    { frames: { leaf: 0x2000n, candidate: null, callers: [] }, faults: 3, residentBytes: 4096 },
    { frames: { leaf: 0x1000n, candidate: null, callers: [] }, faults: 2, residentBytes: 8192 },
  ]);
  t.deepEqual(
    reduce(raw).stacks.map((stack) => stack.faults),
    [2, 3],
  );
});

test('partial: the given reason, else output that never ended or ended before memtrace:done', (t) => {
  t.is(reduce(rawWith([]), 'interrupted by SIGINT').partialReason, 'interrupted by SIGINT');
  t.is(reduce({ ...emptyFaultsRaw(), began: true }).partialReason, 'the trace ended before the tracer printed its results');
  t.is(
    reduce({ ...emptyFaultsRaw(), began: true, ended: true }).partialReason,
    'the output ends before the tracer had printed all its results',
  );
  t.false(reduce(rawWith([])).partial);
});

test('faultsFrameAddresses: leaves apart from return addresses and candidates', (t) => {
  const raw = rawWith([
    { frames: { leaf: 0x1000n, candidate: 0x3000n, callers: [0x4000n] } },
    { frames: { leaf: 0x2000n, candidate: null, callers: [0x4000n] } },
  ]);
  t.deepEqual(faultsFrameAddresses(raw), { leaves: [0x1000n, 0x2000n], callers: [0x3000n, 0x4000n] });
});

test('stacks that differ only by addresses in the same functions are merged, values summed', (t) => {
  // given a read fault and a write fault of one loop in touch (two leaves), both called from main
  const names: FaultsNames = { leaves: new Map([...NAMES.leaves, [0x2010n, named('touch')]]), callers: NAMES.callers };
  const raw = rawWith([
    { frames: { leaf: 0x2000n, candidate: null, callers: [0x4000n] }, faults: 13, residentBytes: 13 * 4096 },
    { frames: { leaf: 0x2010n, candidate: null, callers: [0x4000n] }, faults: 13 },
  ]);
  // when
  const profile = reduceFaults(raw, {
    target: { pid: 7, command: null },
    tracer: { name: 'bpftrace', version: null },
    startedAt: null,
    durationSeconds: null,
    partialReason: null,
    pageSize: 4096,
    names,
  });
  // then
  t.deepEqual(profile.stacks, [
    {
      frames: [
        { name: 'main', module: 'prog' },
        { name: 'touch', module: 'prog' },
      ],
      faults: 26,
      residentBytes: 13 * 4096,
      brkBytes: 0,
      mmapBytes: 0,
    },
  ]);
});
