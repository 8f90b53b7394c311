// The parser of memtrace's faults program output, on bpftrace 0.17 output recorded from real runs of
// scripts/bpf/faults.bt against test/workloads/touch-pages.c (test/fixtures/bpftrace/debian12-0.17/README.md).
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { FaultsLogParser, looksLikeFaultsLog } from '../../src/parse/faults-log.js';
import { fixture } from '../helpers/workloads.js';

function parse(name: string, options: { lenient?: boolean; split?: boolean } = {}) {
  const parser = new FaultsLogParser({ source: name, lenient: options.lenient });
  const lines = readFileSync(fixture(`bpftrace/debian12-0.17/${name}`), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) parser.push(line);
  return parser.finish();
}

/** What both recordings of one run hold: touch-pages' 37 + 29 + 367 + 13 pages (13 of them read then written), and malloc's header page. */
function summary(name: string) {
  const { raw, truncated } = parse(name);
  return {
    truncated,
    flags: [raw.began, raw.ended, raw.complete],
    totals: [raw.faults, raw.residentBytes, raw.brkCalls, raw.brkBytes, raw.mmapCalls, raw.mmapFailed, raw.mmapBytes, raw.munmapCalls],
    kinds: Object.fromEntries(raw.faultKinds),
    faults: [...raw.stacks.values()].map((stack) => stack.faults).sort((a, b) => a - b),
    brk: [...raw.stacks.values()].map((stack) => stack.brkBytes).filter((bytes) => bytes > 0),
    mmap: [...raw.stacks.values()]
      .map((stack) => stack.mmapBytes)
      .filter((bytes) => bytes > 0)
      .sort((a, b) => a - b),
    framesPerStack: [...raw.stacks.values()].map((stack) => (stack.frames.leaf === null ? 0 : 1) + stack.frames.callers.length),
  };
}

const EXPECTED = {
  truncated: false,
  flags: [true, true, true],
  totals: [460, 447 * 4096, 1, 29 * 4096, 3, 0, 37 * 4096 + 369 * 4096 + 13 * 4096, 0],
  // Not present (0 read, 2 write) and protection writes (3): touch_zero's 13 copy-on-writes of the zero page.
  kinds: { 0: 13, 2: 434, 3: 13 },
  faults: [0, 0, 0, 0, 1, 13, 13, 29, 37, 367],
  brk: [29 * 4096],
  mmap: [13 * 4096, 37 * 4096, 369 * 4096],
};

for (const name of ['faults-touch-pages.text.txt', 'faults-touch-pages.json.ndjson']) {
  test(name, (t) => {
    const { framesPerStack, ...rest } = summary(name);
    t.deepEqual(rest, EXPECTED);
    // The workload's stacks: leaf, main, __libc_start_call_main (the leaf's own function comes from
    // the candidate frame, counted apart); the two inside malloc end at the leaf (glibc keeps no
    // frame pointers).
    t.deepEqual(framesPerStack.sort(), [1, 1, 3, 3, 3, 3, 3, 3, 3, 3]);
  });
}

test('the frames of the touch_mmap fault stack: leaf, candidate at depth 1, the chain from depth 2', (t) => {
  const { raw } = parse('faults-touch-pages.text.txt');
  const stack = raw.stacks.get('5425052891686506')!;
  t.is(stack.faults, 37);
  t.is(stack.residentBytes, 37 * 4096);
  t.is(stack.frames.leaf, 94514624688740n);
  t.is(stack.frames.callers.length, 2);
});

test('faults-raw-attach.ndjson: a memtrace --raw-out log carries its header, maps and symbols', (t) => {
  const { raw } = parse('faults-raw-attach.ndjson');
  t.is(raw.faults, 460);
  t.is(raw.memtrace.header?.tool, 'faults');
  t.is(raw.memtrace.maps.length, 1);
  t.truthy((raw.memtrace.symbols as unknown as { leaves: object }).leaves);
});

test('empty.txt: nothing began, nothing ended', (t) => {
  const { raw, truncated } = parse('empty.txt');
  t.false(truncated);
  t.deepEqual([raw.began, raw.ended, raw.complete, raw.faults, raw.stacks.size], [false, false, false, 0, 0]);
});

test('faults-touch-pages-truncated.text.txt: cut after the first totals, not complete', (t) => {
  const { raw } = parse('faults-touch-pages-truncated.text.txt');
  t.deepEqual([raw.began, raw.ended, raw.complete], [true, true, false]);
  t.is(raw.faults, 460);
  t.is(raw.stacks.size, 0);
});

test('faults-touch-pages-garbled.text.txt: a ParseError naming file, line and what was expected', (t) => {
  const error = t.throws(() => parse('faults-touch-pages-garbled.text.txt'), { instanceOf: ParseError });
  t.regex(error.message, /faults-touch-pages-garbled\.text\.txt/);
  t.regex(error.message, /\.txt:8: /);
  t.regex(error.message, /a number as the value of @faults: "@faults: 4x4"/);
});

test('faults-touch-pages-garbled.text.txt with lenient: the line is counted, the rest read', (t) => {
  const { raw } = parse('faults-touch-pages-garbled.text.txt', { lenient: true });
  t.is(raw.lines.malformed, 1);
  t.is(raw.faults, 460);
  t.is(raw.residentBytes, 0);
  t.is(raw.brkCalls, 1);
  t.is(raw.stacks.get('5425052891686506')?.faults, 37);
});

test('looksLikeFaultsLog: the three openings, and not a malloc log', (t) => {
  t.true(looksLikeFaultsLog('Attaching 9 probes...\nmemtrace:begin faults\n'));
  t.true(looksLikeFaultsLog('{"type": "printf", "data": "memtrace:begin faults\\n"}'));
  t.true(looksLikeFaultsLog('{"type":"memtrace_header","data":{"tool":"faults","target":{}}}'));
  t.false(looksLikeFaultsLog('Attaching 21 probes...\nmemtrace:begin malloc\n'));
  t.false(looksLikeFaultsLog(''));
});
