// bpftrace 0.27's output where it differs from 0.17's and 0.23's, on lines taken from real runs of
// Debian testing's bpftrace 0.27.0 on this machine (test/fixtures/bpftrace/debian-testing-0.27/):
// - dw_ustack(raw) stacks: addresses alone, not indented, as a map key and as a tuple member;
// - `<unwindfailure>` where DWARF unwinding stopped (a command traced from a shim it exec'd from);
// - integers above 2^53 printed as strings of digits (a frame-pointer walk that read text).
import test from 'ava';
import {
  BpftraceOutputReader,
  UNWIND_FAILURE_SYMBOL,
  addressValue,
  integerValue,
  parseFrame,
  type BpftraceRecord,
} from '../../src/parse/bpftrace-output.js';
import { MallocLogParser } from '../../src/parse/malloc-log.js';

function read(lines: string[]): BpftraceRecord[] {
  const reader = new BpftraceOutputReader();
  return [...lines.flatMap((line) => reader.push(line)), ...reader.finish()];
}

test('json: a dw_ustack(raw) key is a stack of addresses; <unwindfailure> ends it as a marker frame', (t) => {
  const [record] = read([
    '{"type": "map", "data": {"@stack_allocs": {"\\n564eede1211e\\n<unwindfailure>\\n": 1, "\\n564eede3e2d4\\n<unwindfailure>\\n": 1}}}',
  ]);
  t.deepEqual(record, {
    type: 'map',
    name: '@stack_allocs',
    entries: [
      {
        key: {
          kind: 'stack',
          frames: [
            { address: 0x564eede1211en, symbol: null, module: null },
            { address: null, symbol: UNWIND_FAILURE_SYMBOL, module: null },
          ],
        },
        value: 1,
      },
      {
        key: {
          kind: 'stack',
          frames: [
            { address: 0x564eede3e2d4n, symbol: null, module: null },
            { address: null, symbol: UNWIND_FAILURE_SYMBOL, module: null },
          ],
        },
        value: 1,
      },
    ],
  });
});

test('json: a stack in a tuple value (@live[addr] = (size, ns, dw_ustack))', (t) => {
  const [record] = read([
    '{"type": "map", "data": {"@live": {"94502097805984": [1,296380442512,"\\n55f2cdafb1cc\\n55f2cdafb1f3\\n55f2cdafb223\\n55f2cdafb0b1\\n"]}}}',
  ]);
  t.deepEqual(record, {
    type: 'map',
    name: '@live',
    entries: [
      {
        key: { kind: 'values', parts: ['94502097805984'] },
        value: [
          1,
          296380442512,
          [0x55f2cdafb1ccn, 0x55f2cdafb1f3n, 0x55f2cdafb223n, 0x55f2cdafb0b1n].map((address) => ({ address, symbol: null, module: null })),
        ],
      },
    ],
  });
});

test('json: an integer above 2^53 comes as a string of digits and reads back exactly as an address', (t) => {
  const [record] = read([
    '{"type": "map", "data": {"@stack_frames": {"94811979043102,0": 94811979043102, "3167430071296897,1": "5116217172983623168"}}}',
  ]);
  if (record?.type !== 'map') return t.fail('not a map');
  t.is(addressValue(record.entries[1]!.value, '@stack_frames'), 5116217172983623168n);
  t.is(integerValue(record.entries[0]!.value, '@stack_frames'), 94811979043102);
  t.throws(() => integerValue('twelve', '@x'), { message: /a number as the value of @x/ });
});

test('text: raw frames and the unwind failure marker, as bpftrace 0.27 prints them', (t) => {
  // `bpftrace -e '… @s[dw_ustack(raw, 8)] = count();'` against a command traced from a shim.
  const [record] = read(['@s[', '556036e761cc', '        <unwind failure>', ']: 17']);
  t.deepEqual(record, {
    type: 'map',
    name: '@s',
    entries: [
      {
        key: {
          kind: 'stack',
          frames: [
            { address: 0x556036e761ccn, symbol: null, module: null },
            { address: null, symbol: UNWIND_FAILURE_SYMBOL, module: null },
          ],
        },
        value: 17,
      },
    ],
  });
});

test('a raw frame is hex digits alone: anything else unindented is not a frame', (t) => {
  t.deepEqual(parseFrame('7f5a33a0c504'), { address: 0x7f5a33a0c504n, symbol: null, module: null });
  t.throws(() => parseFrame('7f5a33a0c504 main'), { message: /stack frame line/ });
  t.throws(() => parseFrame('xyz'), { message: /stack frame line/ });
  t.throws(() => parseFrame('12345678901234567'), { message: /stack frame line/ }, 'more than 64 bits');
});

test('malloc output in DWARF mode: live blocks carry their stack, and stacks the stack maps lost come from them', (t) => {
  const parser = new MallocLogParser({ source: 'test' });
  const lines = [
    '{"type": "printf", "data": "memtrace:begin malloc\\n"}',
    '{"type": "printf", "data": "memtrace:end 300000000000\\n"}',
    '{"type": "map", "data": {"@ok_allocs": 3}}',
    '{"type": "map", "data": {"@stack_allocs": {"\\n55f2cdafb1cc\\n55f2cdafb1f3\\n": 2}}}',
    '{"type": "map", "data": {"@stack_bytes": {"\\n55f2cdafb1cc\\n55f2cdafb1f3\\n": 200}}}',
    '{"type": "map", "data": {"@live": {"94502097805984": [100,296380442512,"\\n55f2cdafb1cc\\n55f2cdafb1f3\\n"], "94502097806000": [50,296380442600,"\\n55f2cdafb0b1\\n"]}}}',
    '{"type": "printf", "data": "memtrace:done\\n"}',
  ];
  for (const line of lines) parser.push(line);
  const { raw, truncated } = parser.finish();
  t.false(truncated);
  t.deepEqual(
    raw.live.map((block) => [block.size, block.stackKey]),
    [
      [100, '55f2cdafb1cc,55f2cdafb1f3'],
      [50, '55f2cdafb0b1'],
    ],
  );
  t.deepEqual(raw.stacks.get('55f2cdafb1cc,55f2cdafb1f3'), {
    frames: [0x55f2cdafb1ccn, 0x55f2cdafb1f3n].map((address) => ({ address, symbol: null, module: null })),
    allocs: 2,
    bytes: 200,
  });
  // A live block whose stack the stack maps had no room for still has its frames.
  t.deepEqual(raw.stacks.get('55f2cdafb0b1')?.frames, [{ address: 0x55f2cdafb0b1n, symbol: null, module: null }]);
});
