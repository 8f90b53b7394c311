import test from 'ava';
import { BpftraceOutputReader, type BpftraceRecord } from '../../src/parse/bpftrace-output.js';
import { Malformed } from '../../src/parse/line-shell.js';

function read(lines: string[]): BpftraceRecord[] {
  const reader = new BpftraceOutputReader();
  return [...lines.flatMap((line) => reader.push(line)), ...reader.finish()];
}

test('text: scalar, keyed and tuple maps', (t) => {
  t.deepEqual(
    read(['Attaching 19 probes...', '@free_null: 3', '@calls[aligned_alloc/memalign]: 3', '@live[94608857319216]: (1024, 843514715468)']),
    [
      { type: 'attached', probes: 19 },
      { type: 'map', name: '@free_null', entries: [{ key: { kind: 'none' }, value: 3 }] },
      { type: 'map', name: '@calls', entries: [{ key: { kind: 'values', parts: ['aligned_alloc/memalign'] }, value: 3 }] },
      { type: 'map', name: '@live', entries: [{ key: { kind: 'values', parts: ['94608857319216'] }, value: [1024, 843514715468] }] },
    ],
  );
});

test('text: a stack key spanning lines, with and without symbols', (t) => {
  const records = read([
    '@stack_allocs[',
    '\t562effa0c42e grow_chain+23 (/w/known-allocs)',
    '\t7fa7b3d9124a 0x7fa7b3d9124a ([unknown])',
    ']: 29',
  ]);
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
  const records = read([
    '@size_hist: ',
    '[16, 32)              41 |@@@@|',
    '[512, 1K)             21 |@@  |',
    '[1K, 2K)               1 |@   |',
    '',
    'done',
  ]);
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
  t.deepEqual(records[0], {
    type: 'map',
    name: '@stack_allocs',
    entries: [{ key: { kind: 'values', parts: ['94074197656617', '94074197657792', '0'] }, value: 1 }],
  });
  t.deepEqual(records[1], {
    type: 'map',
    name: '@u',
    entries: [{ key: { kind: 'stack', frames: [{ address: 0x56149ab18174n, symbol: 'main+27', module: '/tmp/sleeper' }] }, value: 10 }],
  });
  t.deepEqual(records[2], {
    type: 'map',
    name: '@live',
    entries: [{ key: { kind: 'values', parts: ['94074215692080'] }, value: [1024, 774217654092, 94074197656650] }],
  });
});

test('json: hist bounds are inclusive in bpftrace and become [low, high)', (t) => {
  t.deepEqual(read(['{"type": "hist", "data": {"@size_hist": [{"min": 16, "max": 31, "count": 41}]}}']), [
    { type: 'hist', name: '@size_hist', buckets: [{ low: 16, high: 32, count: 41 }] },
  ]);
});

test('json: lost events, printf and unknown types', (t) => {
  t.deepEqual(
    read(['{"type": "lost_events", "data": {"events": 7}}', '{"type": "printf", "data": "x\\n"}', '{"type": "time", "data": "12:00\\n"}']),
    [
      { type: 'lost', events: 7 },
      { type: 'printf', text: 'x\n' },
      { type: 'other', jsonType: 'time', data: '12:00\n' },
    ],
  );
});

const malformed = test.macro((t, lines: string[], expected: RegExp) => {
  const error = t.throws(() => read(lines), { instanceOf: Malformed });
  t.regex(error!.message, expected);
});

test('json cut in the middle is malformed', malformed, ['{"type": "map", "data": {"@calls": {"mall'], /complete JSON object/);
test('json without a type is malformed', malformed, ['{"data": 1}'], /"type" field/);
test('a stack key that never closes is malformed at the end', malformed, ['@stack_allocs[', '\t562effa0c42e main+1 (/w/a)'], /input ended/);
test('garbage inside a stack key is malformed', malformed, ['@stack_allocs[', 'not a frame'], /stack frame line/);

test('text: ustack in bpftrace mode: symbol+offset alone, or the bare address', (t) => {
  t.deepEqual(read(['@[', '    __GI___libc_malloc+0', '    0x56306d8d8292', ']: 11']), [
    {
      type: 'map',
      name: '@',
      entries: [
        {
          key: {
            kind: 'stack',
            frames: [
              { address: null, symbol: '__GI___libc_malloc+0', module: null },
              { address: 0x56306d8d8292n, symbol: null, module: null },
            ],
          },
          value: 11,
        },
      ],
    },
  ]);
});

test('text: keys of several parts, stacks among them, as bpftrace 0.17 prints them', (t) => {
  const frame = (symbol: string) => ({ address: null, symbol, module: null });
  const records = read([
    '@[22503, ',
    '    exc_page_fault+752',
    ', ',
    '    touch_pages+118',
    ']: 37',
    '@bytes[22251, ',
    '    make_alpha+27',
    ', 48]: 1104',
    '@none[',
    '\t7f8f7376e930 __GI___libc_malloc+0 (/usr/lib/x86_64-linux-gnu/libc.so.6)',
    ', ]: 34',
  ]);
  t.deepEqual(
    records.map((record) => (record.type === 'map' ? record.entries[0]!.key : null)),
    [
      {
        kind: 'composite',
        parts: [
          { kind: 'value', text: '22503' },
          { kind: 'stack', frames: [frame('exc_page_fault+752')] },
          { kind: 'stack', frames: [frame('touch_pages+118')] },
        ],
      },
      {
        kind: 'composite',
        parts: [
          { kind: 'value', text: '22251' },
          { kind: 'stack', frames: [frame('make_alpha+27')] },
          { kind: 'value', text: '48' },
        ],
      },
      {
        kind: 'composite',
        parts: [
          {
            kind: 'stack',
            frames: [{ address: 0x7f8f7376e930n, symbol: '__GI___libc_malloc+0', module: '/usr/lib/x86_64-linux-gnu/libc.so.6' }],
          },
          { kind: 'stack', frames: [] },
        ],
      },
    ],
  );
  t.deepEqual(
    records.map((record) => (record.type === 'map' ? record.entries[0]!.value : null)),
    [37, 1104, 34],
  );
});

test('json: keys of several parts, an empty last stack', (t) => {
  const [record] = read([
    '{"type": "map", "data": {"@none": {"stack-allocs,\\n\\t7f4d4e2e8930 __GI___libc_malloc+0 (/usr/lib/libc.so.6)\\n,": 34}}}',
  ]);
  t.deepEqual(record, {
    type: 'map',
    name: '@none',
    entries: [
      {
        key: {
          kind: 'composite',
          parts: [
            { kind: 'value', text: 'stack-allocs' },
            { kind: 'stack', frames: [{ address: 0x7f4d4e2e8930n, symbol: '__GI___libc_malloc+0', module: '/usr/lib/libc.so.6' }] },
            { kind: 'stack', frames: [] },
          ],
        },
        value: 34,
      },
    ],
  });
});

test('lhist and signed hist: out-of-range buckets are unbounded, in text and json', (t) => {
  const below = { low: Number.NEGATIVE_INFINITY, high: 64, count: 23 };
  const above = { low: 128, high: Number.POSITIVE_INFINITY, count: 11 };
  t.deepEqual(read(['@l: ', '(..., 64)             23 |@@@@|', '[64, 96)               0 |    |', '[128, ...)            11 |@@  |', '']), [
    { type: 'hist', name: '@l', buckets: [below, { low: 64, high: 96, count: 0 }, above] },
  ]);
  t.deepEqual(
    read(['{"type": "hist", "data": {"@l": [{"max": 63, "count": 23}, {"min": 64, "max": 95, "count": 0}, {"min": 128, "count": 11}]}}']),
    [{ type: 'hist', name: '@l', buckets: [below, { low: 64, high: 96, count: 0 }, above] }],
  );
});

test(
  'a line after a stack that neither closes nor continues the key is malformed',
  malformed,
  ['@[', '    main+1', ',x'],
  /"\]: value" or ", " after the stack/,
);
test('a frame line of white space only is malformed', malformed, ['@[', '    '], /stack frame line/);
