// The parser of memtrace's D malloc output, on fixtures built in DTrace's documented formats
// (test/fixtures/dtrace/README.md): 25 allocations on two stacks, 20 of them freed.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { looksLikeMallocDtrace, MallocDtraceParser, parseDtraceFrame } from '../../src/parse/malloc-dtrace.js';
import { MappingHistory } from '../../src/symbols/proc-maps.js';
import { framePlacer } from '../../src/tools/malloc/dtrace-report-input.js';
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
  t.deepEqual(
    [raw.freeNull, raw.okAllocs, raw.okBytes, raw.frees, raw.liveAllocs, raw.liveFrees, raw.liveFreedBytes],
    [3, 25, 24832, 25, 25, 20, 20480],
  );
  t.deepEqual(
    [...raw.stacks.values()].map((stack) => [
      stack.allocs,
      stack.bytes,
      stack.frames.map((frame) => `${frame.module}\`${frame.symbol}`).join(' < '),
    ]),
    [
      [23, 23552, 'libsystem_malloc.dylib`malloc < known-allocs`make_block < known-allocs`main < dyld`start'],
      [2, 1280, 'libsystem_malloc.dylib`calloc < known-allocs`make_table < known-allocs`main < dyld`start'],
    ],
  );
  t.is(raw.live.length, 5);
  t.is(
    raw.live.reduce((sum, block) => sum + block.size, 0),
    3 * 1024 + 2 * 640,
  );
  t.deepEqual(
    raw.live.map((block) => block.address.toString(16)),
    ['600000c09000', '600000c09400', '600000c09800', '600000d08000', '600000d08400'],
  );
  t.deepEqual(
    raw.histogram.filter((bucket) => bucket.count > 0),
    [
      { low: 512, high: 1024, count: 2 },
      { low: 1024, high: 2048, count: 23 },
      { low: 2 ** 40, high: 2 ** 41, count: 1 },
    ],
  );
  t.is(parser.unmatchedFrees, 0);
  t.is(raw.lostEvents, 0);
});

test('malloc-known-truncated.txt: cut inside the results, the report is partial', (t) => {
  const { raw, truncated } = parse('malloc-known-truncated.txt');
  t.true(truncated);
  t.true(raw.ended);
  t.is(raw.okAllocs, 25);
  // The first stack line of the results was cut: no stack counts, the live blocks keep their stacks.
  t.deepEqual(
    [...raw.stacks.values()].map((stack) => stack.allocs),
    [0, 0],
  );
  t.is(raw.live.length, 5);
});

test('malloc-known-garbled.txt: names the line and what was expected', (t) => {
  const error = t.throws(() => parse('malloc-known-garbled.txt'), { instanceOf: ParseError });
  t.is(error!.lineNumber, 23);
  t.is(
    error!.message,
    `malloc-known-garbled.txt:23: not valid memtrace's DTrace malloc output: expected A<TAB>HEX ADDRESS<TAB>SIZE<TAB>NS, then the stack: "A\\tzz-not-hex\\t1024\\t88812930007417"`,
  );
});

test('malloc-known-garbled.txt, lenient: one line skipped, its frames refused as stray, the rest read', (t) => {
  const { raw } = parse('malloc-known-garbled.txt', true);
  // The damaged A line and its 4 frames (frames outside a record are malformed too).
  t.is(raw.lines.malformed, 5);
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
  t.throws(() => parser.push('calls\tmalloc\t3'), {
    instanceOf: ParseError,
    message: /"calls" lines only between memtrace:end and memtrace:done/,
  });
});

test('drop notices count as lost events; a free whose birth was dropped is counted apart', (t) => {
  const parser = new MallocDtraceParser({ source: 'x' });
  for (const line of ['memtrace:begin malloc', 'F\tdeadbeef']) parser.push(line);
  for (const line of ['dtrace: 3 drops on CPU 0', 'dtrace: [DTRACEDROP_PRINCIPAL] 1 drop on CPU 1', 'dtrace: 2 dynamic variable drops'])
    parser.pushNotice(line);
  const { raw } = parser.finish();
  t.is(raw.lostEvents, 6);
  t.is(parser.unmatchedFrees, 1);
});

test('frames: symbol, module address, bare address, noresolve module offset', (t) => {
  t.deepEqual(parseDtraceFrame('prog`main+0x4a'), { address: null, symbol: 'main', module: 'prog', printed: 'prog`main+0x4a' });
  t.deepEqual(parseDtraceFrame('libfoo.dylib`0x10a3f'), {
    address: 0x10a3fn,
    symbol: null,
    module: 'libfoo.dylib',
    printed: 'libfoo.dylib`0x10a3f',
  });
  t.deepEqual(parseDtraceFrame('              0x7ff80a1b2c3d'), {
    address: 0x7ff80a1b2c3dn,
    symbol: null,
    module: null,
    printed: '0x7ff80a1b2c3d',
  });
  // DTrace for Linux's noresolve: the offset in the mapping; placed by the caller's maps, else kept as printed.
  t.deepEqual(
    parseDtraceFrame('known-allocs:0x2b4', (module, offset) => (module === 'known-allocs' ? 0x5600_0000_1000n + offset : null)),
    {
      address: 0x5600_0000_12b4n,
      symbol: null,
      module: 'known-allocs',
      printed: 'known-allocs:0x2b4',
    },
  );
  t.deepEqual(parseDtraceFrame('libc.so.6:0x124a'), {
    address: null,
    symbol: 'libc.so.6:0x124a',
    module: 'libc.so.6',
    printed: 'libc.so.6:0x124a',
  });
});

test('detection tells the D output from the bpftrace output', (t) => {
  t.true(looksLikeMallocDtrace(readFileSync(fixture('dtrace/malloc-known.txt'), 'utf8')));
  t.true(looksLikeMallocDtrace('memtrace:begin malloc\n'));
  t.false(looksLikeMallocDtrace(readFileSync(fixture('bpftrace/debian12-0.17/malloc-known-allocs.text.txt'), 'utf8')));
  t.false(looksLikeMallocDtrace(readFileSync(fixture('bpftrace/debian12-0.17/malloc-known-allocs-symbolized.json.ndjson'), 'utf8')));
});

// Recorded from real runs of DTrace for Linux 2.0.7 (test/fixtures/dtrace/linux-2.0.7/README.md), not
// written from the documentation as the files above: known-allocs, whose figures are
// test/helpers/known-allocs.ts. Frames as that DTrace printed them: ustack()'s indented, printa's %k not.
function parseLinux(name: string) {
  return parse(`linux-2.0.7/${name}`);
}

/** Per leaf function (DTrace's name for it, or null for an address): allocations and bytes. */
function byLeaf(stacks: Iterable<{ frames: Array<{ symbol: string | null }>; allocs: number; bytes: number }>) {
  const sums: Record<string, [number, number]> = {};
  for (const stack of stacks) {
    const leaf = stack.frames[0]?.symbol ?? 'address';
    const [allocs, bytes] = sums[leaf] ?? [0, 0];
    sums[leaf] = [allocs + stack.allocs, bytes + stack.bytes];
  }
  return sums;
}

test('linux-2.0.7/malloc-known-allocs-named.txt: frames named by DTrace, %k unindented', (t) => {
  const { raw, truncated } = parseLinux('malloc-known-allocs-named.txt');
  t.false(truncated);
  t.deepEqual([raw.okAllocs, raw.okBytes, raw.frees, raw.freeNull, raw.liveAllocs, raw.liveFrees], [106, 157_716, 80, 3, 106, 80]);
  t.deepEqual(byLeaf(raw.stacks.values()), {
    make_small: [41, 984],
    make_pages: [29, 118_784],
    make_arrays: [17, 11_900],
    grow_chain: [5, 1_984],
    make_aligned: [11, 22_528],
    make_aligned2: [3, 1_536],
  });
  // grow_chain's two call sites stay two stacks: the key keeps the offset.
  t.is(raw.stacks.size, 7);
  const small = [...raw.stacks.values()].find((stack) => stack.frames[0]?.symbol === 'make_small')!;
  t.deepEqual(
    small.frames.map((frame) => [frame.module, frame.symbol, frame.address === null]),
    [
      ['known-allocs', 'make_small', true],
      ['known-allocs', 'main', true],
      // glibc's __libc_start_call_main is a local symbol DTrace does not see: module and address.
      ['libc.so.6', null, false],
    ],
  );
  t.is(raw.live.length, 26);
  t.is(
    raw.live.reduce((sum, block) => sum + block.size, 0),
    69_412,
  );
  // Each outstanding block's stack is one of the counted stacks (the A records and printa agree).
  t.true(raw.live.every((block) => (raw.stacks.get(block.stackKey)?.allocs ?? 0) > 0));
});

test('linux-2.0.7/malloc-known-allocs-exited.txt: what a hand run gets once the command has exited (bare addresses)', (t) => {
  const { raw } = parseLinux('malloc-known-allocs-exited.txt');
  t.deepEqual([raw.okAllocs, raw.okBytes, raw.frees, raw.liveAllocs, raw.liveFrees, raw.live.length], [106, 157_716, 80, 106, 80, 26]);
  // The results printed after the exit: every frame an address, none named.
  const counted = [...raw.stacks.values()].filter((stack) => stack.allocs > 0);
  t.is(counted.length, 7);
  t.true(counted.every((stack) => stack.frames.every((frame) => frame.symbol === null && frame.address !== null)));
  // `libc.so.6`0x7f…24a` (printed while the command lived) and `0x7f…24a` (after) are one frame; only
  // the first few records were printed in time, all make_small's (freed): every outstanding block,
  // printed as addresses, lands on its counted stack.
  t.true(raw.live.every((block) => (raw.stacks.get(block.stackKey)?.allocs ?? 0) > 0));
});

test('linux-2.0.7/malloc-known-allocs.raw.txt: module:0xOFF frames (noresolve) placed with the recorded maps at the addresses printed after the exit', (t) => {
  const text = readFileSync(fixture('dtrace/linux-2.0.7/malloc-known-allocs.raw.txt'), 'utf8');
  const parser = new MallocDtraceParser({ source: 'raw' });
  for (const line of text.split('\n')) parser.push(line);
  t.regex(text, /^memtrace:pid \d+$/m);
  t.is(parser.targetPid, Number(/^memtrace:pid (\d+)$/m.exec(text)![1]));
  const place = framePlacer(MappingHistory.fromJSON(parser.recordedMaps as Parameters<typeof MappingHistory.fromJSON>[0]));
  const { raw } = parser.finish(place);
  // The one record printed while the command lived (make_small's first block) and make_small's
  // stack printed after it exited: the same three addresses.
  const printedAlive = ['known-allocs:0x2b4', 'known-allocs:0x8b6', 'libc.so.6:0x124a'].map(
    (frame) => parseDtraceFrame(frame, place).address,
  );
  const small = [...raw.stacks.values()].find((stack) => stack.allocs === 41)!;
  t.deepEqual(
    small.frames.map((frame) => frame.address),
    printedAlive,
  );
  t.is(raw.stacks.size, 7);
  t.deepEqual([raw.okAllocs, raw.frees, raw.live.length], [106, 80, 26]);
  // Without the maps such a frame cannot be placed: it stays as printed.
  t.is(parseDtraceFrame('known-allocs:0x2b4').address, null);
});
