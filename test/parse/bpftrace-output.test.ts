import test from 'ava';
import { BpftraceOutputReader, MalformedLine, type BpftraceRecord } from '../../src/parse/bpftrace-output.js';

function read(lines: string[]): BpftraceRecord[] {
  const reader = new BpftraceOutputReader();
  return [...lines.flatMap((line) => reader.push(line)), ...reader.finish()];
}

test('text: scalar, keyed and tuple maps', (t) => {
  t.deepEqual(read(['Attaching 19 probes...', '@free_null: 3', '@calls[aligned_alloc/memalign]: 3', '@live[94608857319216]: (1024, 843514715468)']), [
    { type: 'attached', probes: 19 },
    { type: 'map', name: '@free_null', entries: [{ key: { kind: 'none' }, value: 3 }] },
    { type: 'map', name: '@calls', entries: [{ key: { kind: 'values', parts: ['aligned_alloc/memalign'] }, value: 3 }] },
    { type: 'map', name: '@live', entries: [{ key: { kind: 'values', parts: ['94608857319216'] }, value: [1024, 843514715468] }] },
  ]);
});

test('text: a stack key spanning lines, with and without symbols', (t) => {
  const records = read(['@stack_allocs[', '\t562effa0c42e grow_chain+23 (/w/known-allocs)', '\t7fa7b3d9124a 0x7fa7b3d9124a ([unknown])', ']: 29']);
  t.deepEqual(records, [
    {
      type: 'map',
      name: '@stack_allocs',
      entries: [
        {
          key: {
            kind: 'stack',
            frames: [
              { address: 0x562effa0c42en, symbol: 'grow_chain+23', module: '/w/known-allocs' },
              { address: 0x7fa7b3d9124an, symbol: null, module: null },
            ],
          },
          value: 29,
        },
      ],
    },
  ]);
});

test('text: a stack value ends at the next map line', (t) => {
  const records = read(['@live_stack[17]: ', '\t562effa0c42e main+1 (/w/a)', '@free_null: 0']);
  t.is(records.length, 2);
  t.deepEqual(records[0], {
    type: 'map',
    name: '@live_stack',
    entries: [{ key: { kind: 'values', parts: ['17'] }, value: [{ address: 0x562effa0c42en, symbol: 'main+1', module: '/w/a' }] }],
  });
});

test('text: log2 histogram buckets with unit suffixes are [low, high)', (t) => {
  const records = read(['@size_hist: ', '[16, 32)              41 |@@@@|', '[512, 1K)             21 |@@  |', '[1K, 2K)               1 |@   |', '', 'done']);
  t.deepEqual(records[0], {
    type: 'hist',
    name: '@size_hist',
    buckets: [
      { low: 16, high: 32, count: 41 },
      { low: 512, high: 1024, count: 21 },
      { low: 1024, high: 2048, count: 1 },
    ],
  });
  t.deepEqual(records[1], { type: 'text', text: 'done' });
});

test('text: lost events', (t) => {
  t.deepEqual(read(['Lost 1234 events']), [{ type: 'lost', events: 1234 }]);
});

test('json: keyed map with multi-part keys, stack keys and tuple values', (t) => {
  const records = read([
    '{"type": "map", "data": {"@stack_allocs": {"94074197656617,94074197657792,0": 1}}}',
    '{"type": "map", "data": {"@u": {"\\n\\t56149ab18174 main+27 (/tmp/sleeper)\\n": 10}}}',
    '{"type": "map", "data": {"@live": {"94074215692080": [1024,774217654092,94074197656650]}}}',
  ]);
  t.deepEqual(records[0], { type: 'map', name: '@stack_allocs', entries: [{ key: { kind: 'values', parts: ['94074197656617', '94074197657792', '0'] }, value: 1 }] });
  t.deepEqual(records[1], {
    type: 'map',
    name: '@u',
    entries: [{ key: { kind: 'stack', frames: [{ address: 0x56149ab18174n, symbol: 'main+27', module: '/tmp/sleeper' }] }, value: 10 }],
  });
  t.deepEqual(records[2], { type: 'map', name: '@live', entries: [{ key: { kind: 'values', parts: ['94074215692080'] }, value: [1024, 774217654092, 94074197656650] }] });
});

test('json: hist bounds are inclusive in bpftrace and become [low, high)', (t) => {
  t.deepEqual(read(['{"type": "hist", "data": {"@size_hist": [{"min": 16, "max": 31, "count": 41}]}}']), [
    { type: 'hist', name: '@size_hist', buckets: [{ low: 16, high: 32, count: 41 }] },
  ]);
});

test('json: lost events, printf and unknown types', (t) => {
  t.deepEqual(read(['{"type": "lost_events", "data": {"events": 7}}', '{"type": "printf", "data": "x\\n"}', '{"type": "time", "data": "12:00\\n"}']), [
    { type: 'lost', events: 7 },
    { type: 'printf', text: 'x\n' },
    { type: 'other', jsonType: 'time', data: '12:00\n' },
  ]);
});

const malformed = test.macro((t, lines: string[], expected: RegExp) => {
  const error = t.throws(() => read(lines), { instanceOf: MalformedLine });
  t.regex(error!.message, expected);
});

test('json cut in the middle is malformed', malformed, ['{"type": "map", "data": {"@calls": {"mall'], /complete JSON object/);
test('json without a type is malformed', malformed, ['{"data": 1}'], /"type" field/);
test('a stack key that never closes is malformed at the end', malformed, ['@stack_allocs[', '\t562effa0c42e main+1 (/w/a)'], /input ended/);
test('garbage inside a stack key is malformed', malformed, ['@stack_allocs[', 'not a frame'], /stack frame line/);
