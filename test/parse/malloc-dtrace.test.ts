// The parser of memtrace's D malloc output, on fixtures built in DTrace's documented formats
// (test/fixtures/dtrace/README.md): 25 allocations on two stacks, 20 of them freed.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { looksLikeMallocDtrace, MallocDtraceParser, parseDtraceFrame } from '../../src/parse/malloc-dtrace.js';
import { fixture } from '../helpers/workloads.js';

function parse(name: string, lenient = false) {
  const parser = new MallocDtraceParser({ source: name, lenient });
  const lines = readFileSync(fixture(`dtrace/${name}`), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) parser.push(line);
  return { parser, ...parser.finish() };
}

test('malloc-known.txt', (t) => {
  const { raw, truncated, parser } = parse('malloc-known.txt');
  t.false(truncated);
  t.true(raw.began && raw.ended);
  t.is(raw.endNs, 88813102551920);
  t.deepEqual(Object.fromEntries(raw.calls), { malloc: 24, calloc: 2, free: 28 });
  t.deepEqual(Object.fromEntries(raw.bytes), { malloc: 23552, calloc: 1280 });
  t.deepEqual(Object.fromEntries(raw.failed), { malloc: 1 });
  t.deepEqual([raw.freeNull, raw.okAllocs, raw.okBytes, raw.frees, raw.liveAllocs, raw.liveFrees, raw.liveFreedBytes], [3, 25, 24832, 25, 25, 20, 20480]);
  t.deepEqual(
    [...raw.stacks.values()].map((stack) => [stack.allocs, stack.bytes, stack.frames.map((frame) => `${frame.module}\`${frame.symbol}`).join(' < ')]),
    [
      [23, 23552, 'libsystem_malloc.dylib`malloc < known-allocs`make_block < known-allocs`main < dyld`start'],
      [2, 1280, 'libsystem_malloc.dylib`calloc < known-allocs`make_table < known-allocs`main < dyld`start'],
    ],
  );
  t.is(raw.live.length, 5);
  t.is(raw.live.reduce((sum, block) => sum + block.size, 0), 3 * 1024 + 2 * 640);
  t.deepEqual(raw.live.map((block) => block.address.toString(16)), ['600000c09000', '600000c09400', '600000c09800', '600000d08000', '600000d08400']);
  t.deepEqual(raw.histogram.filter((bucket) => bucket.count > 0), [
    { low: 512, high: 1024, count: 2 },
    { low: 1024, high: 2048, count: 23 },
    { low: 2 ** 40, high: 2 ** 41, count: 1 },
  ]);
  t.is(parser.unmatchedFrees, 0);
  t.is(raw.lostEvents, 0);
});

test('malloc-known-truncated.txt: cut inside the results, the report is partial', (t) => {
  const { raw, truncated } = parse('malloc-known-truncated.txt');
  t.true(truncated);
  t.true(raw.ended);
  t.is(raw.okAllocs, 25);
  // The first stack line of the results was cut: no stack counts, the live blocks keep their stacks.
  t.deepEqual([...raw.stacks.values()].map((stack) => stack.allocs), [0, 0]);
  t.is(raw.live.length, 5);
});

test('malloc-known-garbled.txt: names the line and what was expected', (t) => {
  const error = t.throws(() => parse('malloc-known-garbled.txt'), { instanceOf: ParseError });
  t.is(error!.lineNumber, 23);
  t.is(error!.message, `malloc-known-garbled.txt:23: not valid memtrace's DTrace malloc output: expected A<TAB>HEX ADDRESS<TAB>SIZE<TAB>NS, then the stack: "A\\tzz-not-hex\\t1024\\t88812930007417"`);
});

test('malloc-known-garbled.txt, lenient: one line skipped, its frames refused as stray, the rest read', (t) => {
  const { raw } = parse('malloc-known-garbled.txt', true);
  // The damaged A line and its 4 frames (frames outside a record are malformed too).
  t.is(raw.skippedLines, 5);
  t.is(raw.okAllocs, 25);
  t.is(raw.live.length, 5);
});

test('empty input: nothing began, nothing ended', (t) => {
  const { raw, truncated } = parse('empty.txt');
  t.false(truncated);
  t.false(raw.began || raw.ended);
});

test('result lines outside memtrace:end … memtrace:done are malformed', (t) => {
  const parser = new MallocDtraceParser({ source: 'x' });
  t.throws(() => parser.push('calls\tmalloc\t3'), { instanceOf: ParseError, message: /"calls" lines only between memtrace:end and memtrace:done/ });
});

test('drop notices count as lost events; a free whose birth was dropped is counted apart', (t) => {
  const parser = new MallocDtraceParser({ source: 'x' });
  for (const line of ['memtrace:begin malloc', 'F\tdeadbeef']) parser.push(line);
  for (const line of ['dtrace: 3 drops on CPU 0', 'dtrace: [DTRACEDROP_PRINCIPAL] 1 drop on CPU 1', 'dtrace: 2 dynamic variable drops']) parser.pushNotice(line);
  const { raw } = parser.finish();
  t.is(raw.lostEvents, 6);
  t.is(parser.unmatchedFrees, 1);
});

test('frames: symbol, module address, bare address, noresolve module offset', (t) => {
  t.deepEqual(parseDtraceFrame('prog`main+0x4a'), { address: null, symbol: 'main', module: 'prog', printed: 'prog`main+0x4a' });
  t.deepEqual(parseDtraceFrame('libfoo.dylib`0x10a3f'), { address: 0x10a3fn, symbol: null, module: 'libfoo.dylib', printed: 'libfoo.dylib`0x10a3f' });
  t.deepEqual(parseDtraceFrame('              0x7ff80a1b2c3d'), { address: 0x7ff80a1b2c3dn, symbol: null, module: null, printed: '0x7ff80a1b2c3d' });
  // DTrace for Linux's noresolve: the offset in the mapping; placed by the caller's maps, else kept as printed.
  t.deepEqual(parseDtraceFrame('known-allocs:0x2b4', (module, offset) => (module === 'known-allocs' ? 0x5600_0000_1000n + offset : null)), {
    address: 0x5600_0000_12b4n,
    symbol: null,
    module: 'known-allocs',
    printed: 'known-allocs:0x2b4',
  });
  t.deepEqual(parseDtraceFrame('libc.so.6:0x124a'), { address: null, symbol: 'libc.so.6:0x124a', module: 'libc.so.6', printed: 'libc.so.6:0x124a' });
});

test('detection tells the D output from the bpftrace output', (t) => {
  t.true(looksLikeMallocDtrace(readFileSync(fixture('dtrace/malloc-known.txt'), 'utf8')));
  t.true(looksLikeMallocDtrace('memtrace:begin malloc\n'));
  t.false(looksLikeMallocDtrace(readFileSync(fixture('bpftrace/debian12-0.17/malloc-known-allocs.text.txt'), 'utf8')));
  t.false(looksLikeMallocDtrace(readFileSync(fixture('bpftrace/debian12-0.17/malloc-known-allocs-symbolized.json.ndjson'), 'utf8')));
});
