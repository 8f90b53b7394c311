// The reader of hand-written bpftrace map dumps, on fixtures recorded from test/workloads/stack-allocs.c
// (23 mallocs from make_alpha, 11 from make_beta, 37 page faults in touch_pages): exact counts,
// text and -f json of one run give one profile, chunk boundaries do not matter, broken input.
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { readBpftraceMaps, looksLikeBpftraceMaps, type BpftraceMaps } from '../../src/parse/bpftrace-maps.js';
import { renderFolded, renderFoldedTrie } from '../../src/report/folded.js';
import { fixture } from '../helpers/workloads.js';

const recorded = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);
const read = (name: string, options: { lenient?: boolean; chunkBytes?: number } = {}) =>
  readBpftraceMaps(recorded(name), { lenient: options.lenient ?? false, chunkBytes: options.chunkBytes });

function folded(maps: BpftraceMaps, name: string): string {
  const map = maps.stackMaps.find((candidate) => candidate.name === name);
  if (map === undefined) throw new Error(`no stack map ${name}`);
  return renderFolded(map.profile);
}

const MALLOC_ROOT = '__libc_start_call_main;main';

test('maps-malloc.text.txt: @[ustack] counts, @bytes[ustack(perf)] sums, hist, lhist and a scalar', async (t) => {
  const maps = await read('maps-malloc.text.txt');
  t.deepEqual(
    maps.stackMaps.map((map) => [map.name, map.entries, map.profile.valueTypes]),
    [
      ['@', 2, [{ name: 'count', unit: 'count' }]],
      ['@bytes', 2, [{ name: 'bytes', unit: 'bytes' }]],
    ],
  );
  t.is(folded(maps, '@'), `${MALLOC_ROOT};make_alpha;__GI___libc_malloc 23\n${MALLOC_ROOT};make_beta;__GI___libc_malloc 11\n`);
  t.is(
    folded(maps, '@bytes'),
    `${MALLOC_ROOT};make_alpha;__GI___libc_malloc ${23 * 48}\n${MALLOC_ROOT};make_beta;__GI___libc_malloc ${11 * 200}\n`,
  );
  // ustack(perf) names the module of each frame: kept in the profile (pprof shows it).
  t.deepEqual(
    maps.stackMaps[1]!.profile.samples[0]!.frames.map((frame) => frame.module),
    ['libc.so.6', 'stack-allocs', 'stack-allocs', 'libc.so.6'],
  );
  t.deepEqual(maps.histograms, [
    {
      name: '@lsizes',
      kind: 'lhist',
      buckets: [
        { low: 0, high: 64, count: 23 },
        { low: 64, high: 128, count: 0 },
        { low: 128, high: 192, count: 0 },
        { low: 192, high: 256, count: 11 },
      ],
    },
    {
      name: '@sizes',
      kind: 'hist',
      buckets: [
        { low: 32, high: 64, count: 23 },
        { low: 64, high: 128, count: 0 },
        { low: 128, high: 256, count: 11 },
      ],
    },
  ]);
  t.deepEqual(maps.otherMaps, [{ name: '@calls', entries: 1, text: '34' }]);
  t.like(maps, {
    attachedProbes: 2,
    lostEvents: 0,
    lostNotices: 0,
    lines: { malformed: 0, foreign: 0 },
    truncated: false,
    unprofiledMaps: [],
  });
});

test('maps-malloc-keys.text.txt: plain key parts become root frames, in key order', async (t) => {
  const maps = await read('maps-malloc-keys.text.txt');
  t.is(
    folded(maps, '@'),
    `stack-allocs;${MALLOC_ROOT};make_alpha;__GI___libc_malloc 23\nstack-allocs;${MALLOC_ROOT};make_beta;__GI___libc_malloc 11\n`,
  );
  // @bytes[tid, ustack, arg0]: the thread id, then the size asked for, then the stack.
  const lines = folded(maps, '@bytes').trimEnd().split('\n');
  t.is(lines.length, 2);
  t.regex(lines[0]!, new RegExp(`^\\d+;200;${MALLOC_ROOT};make_beta;__GI___libc_malloc 2200$`));
  t.regex(lines[1]!, new RegExp(`^\\d+;48;${MALLOC_ROOT};make_alpha;__GI___libc_malloc 1104$`));
});

test('maps-faults.text.txt: @[pid, kstack, ustack] puts the kernel frames above the user frames', async (t) => {
  const maps = await read('maps-faults.text.txt');
  const touch = folded(maps, '@')
    .split('\n')
    .filter((line) => line.includes('touch_pages'));
  t.is(touch.length, 1);
  t.regex(touch[0]!, new RegExp(`^\\d+;${MALLOC_ROOT};touch_pages;asm_exc_page_fault;exc_page_fault 37$`));
  const byComm = folded(maps, '@by_comm')
    .split('\n')
    .filter((line) => line.includes('touch_pages'));
  t.deepEqual(byComm, [`stack-allocs;${MALLOC_ROOT};touch_pages;asm_exc_page_fault;exc_page_fault 37`]);
  t.deepEqual(
    maps.stackMaps.map((map) => [map.name, map.entries]),
    [
      ['@', 5],
      ['@by_comm', 5],
    ],
  );
});

test('maps-malloc-unsymbolized.text.txt: frames bpftrace could not name keep their addresses', async (t) => {
  const maps = await read('maps-malloc-unsymbolized.text.txt');
  const samples = maps.stackMaps[0]!.profile.samples;
  t.deepEqual(
    samples.map((sample) => sample.values.count).sort((a, b) => a! - b!),
    [11, 23],
  );
  for (const sample of samples) {
    t.is(sample.frames.length, 4);
    for (const frame of sample.frames) t.regex(frame.name, /^0x[0-9a-f]+$/);
  }
});

test('maps-spread.text.txt: 7 functions x 40 depths, one malloc each, plus make_alpha and make_beta', async (t) => {
  const maps = await read('maps-spread.text.txt');
  const map = maps.stackMaps[0]!;
  t.is(map.entries, 282);
  const counts = map.profile.samples.map((sample) => sample.values.count!).sort((a, b) => a - b);
  t.deepEqual(counts, [...Array.from({ length: 280 }, () => 1), 11, 23]);
  // The deepest stack: 40 frames of recursion below the first call, plus malloc, alloc_block's caller, main, libc.
  t.is(Math.max(...map.profile.samples.map((sample) => sample.frames.length)), 43);
});

test('maps-lost-events.text.txt: Lost N events notices are summed, printf lines counted', async (t) => {
  const maps = await read('maps-lost-events.text.txt');
  t.is(maps.lostEvents, 16_110);
  t.is(maps.lostNotices, 13);
  // 3,891 printf lines made it (20,001 mallocs less the 16,110 lost), and the loop's own output line.
  t.is(maps.lines.foreign, 3_892);
  t.deepEqual(
    maps.stackMaps[0]!.profile.samples.map((sample) => sample.values.count).sort((a, b) => a! - b!),
    [1, 20_000],
  );
});

const sameRun = test.macro(async (t, scenario: string) => {
  const text = await read(`${scenario}.text.txt`);
  const json = await read(`${scenario}.json.ndjson`);
  t.deepEqual(json.stackMaps, text.stackMaps);
  t.deepEqual(json.histograms, text.histograms);
  t.deepEqual(json.otherMaps, text.otherMaps);
  t.is(json.attachedProbes, text.attachedProbes);
});
test('text and -f json of one run give one profile: maps-malloc', sameRun, 'maps-malloc');
test('text and -f json of one run give one profile: maps-malloc-keys', sameRun, 'maps-malloc-keys');
test('text and -f json of one run give one profile: maps-faults', sameRun, 'maps-faults');
test('text and -f json of one run give one profile: maps-malloc-unsymbolized', sameRun, 'maps-malloc-unsymbolized');

const anyChunkSize = test.macro(async (t, name: string, chunkBytes: number) => {
  t.deepEqual(await read(name, { chunkBytes }), await read(name));
});
for (const name of ['maps-malloc.text.txt', 'maps-faults.text.txt', 'maps-malloc.json.ndjson', 'maps-spread.text.txt']) {
  for (const chunkBytes of [7, 100]) test(`${name}, read ${chunkBytes} bytes at a time`, anyChunkSize, name, chunkBytes);
}

test('maps-malloc-truncated.text.txt: cut inside a stack key is an error naming the last line; --lenient marks it', async (t) => {
  const error = await t.throwsAsync(read('maps-malloc-truncated.text.txt'), { instanceOf: ParseError });
  t.regex(
    error!.message,
    /maps-malloc-truncated\.text\.txt:6: not valid bpftrace map output: expected the end of the stack key of @ \("\]: value"\), but the input ended \(a run cut while bpftrace printed\? --lenient reports the rest\)/,
  );
  const maps = await read('maps-malloc-truncated.text.txt', { lenient: true });
  t.true(maps.truncated);
  t.deepEqual(maps.stackMaps, []);
});

test('maps-malloc-garbled.text.txt: a line that is no frame, by file and line; --lenient skips it', async (t) => {
  const error = await t.throwsAsync(read('maps-malloc-garbled.text.txt'), { instanceOf: ParseError });
  t.regex(
    error!.message,
    /maps-malloc-garbled\.text\.txt:5: not valid bpftrace map output: expected a stack frame line .*: "%%garbage%%"$/,
  );
  const maps = await read('maps-malloc-garbled.text.txt', { lenient: true });
  t.is(maps.lines.malformed, 1);
  // The garbled line was make_beta's stack's leaf (malloc): the count stays, the frame is gone.
  t.is(folded(maps, '@'), `${MALLOC_ROOT};make_alpha;__GI___libc_malloc 23\n${MALLOC_ROOT};make_beta 11\n`);
});

test('maps-malloc-truncated.json.ndjson: a JSON line cut short, by line; --lenient counts it', async (t) => {
  const error = await t.throwsAsync(read('maps-malloc-truncated.json.ndjson'), { instanceOf: ParseError });
  t.regex(error!.message, /maps-malloc-truncated\.json\.ndjson:4: not valid bpftrace map output: expected a complete JSON object/);
  const maps = await read('maps-malloc-truncated.json.ndjson', { lenient: true });
  t.is(maps.lines.malformed, 1);
  t.is(maps.attachedProbes, 2);
});

test('empty.txt: no map at all is an error', async (t) => {
  const error = await t.throwsAsync(read('empty.txt'), { instanceOf: ParseError });
  t.regex(error!.message, /empty\.txt:1: not valid bpftrace map output: expected at least one map/);
});

test('detection: text, json and the bare map line; not folded stacks or memtrace process logs', (t) => {
  t.true(looksLikeBpftraceMaps('Attaching 2 probes...\n\n\n@[\n'));
  t.true(looksLikeBpftraceMaps('{"type": "attached_probes", "data": {"probes": 2}}\n'));
  t.true(looksLikeBpftraceMaps('@[\n    malloc+0\n]: 3\n'));
  t.true(looksLikeBpftraceMaps('@calls: 34\n'));
  t.false(looksLikeBpftraceMaps('main;a;b 5\n'));
  t.false(looksLikeBpftraceMaps('{"type": "sample", "t": 0}\n'));
});

// `memtrace report -f folded` streams from each map's trie, never building the profile: same text.
const foldedFromTrie = test.macro(async (t, name: string) => {
  const maps = await read(name, { lenient: true });
  t.true(maps.stackMaps.length > 0);
  for (const map of maps.stackMaps) t.is([...renderFoldedTrie(map.stacks)].join(''), renderFolded(map.profile), map.name);
});
for (const name of [
  'maps-malloc.text.txt',
  'maps-malloc.json.ndjson',
  'maps-malloc-keys.text.txt',
  'maps-faults.text.txt',
  'maps-malloc-unsymbolized.text.txt',
  'maps-spread.text.txt',
  'maps-malloc-garbled.text.txt',
]) {
  test(`${name}: folded from the trie is renderFolded's text`, foldedFromTrie, name);
}
