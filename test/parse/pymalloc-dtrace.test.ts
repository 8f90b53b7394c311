import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { looksLikePyMallocDtrace, pyMallocDtraceNotes, PyMallocDtraceParser } from '../../src/parse/pymalloc-dtrace.js';
import { fixture } from '../helpers/workloads.js';

function parse(text: string, lenient = false) {
  const parser = new PyMallocDtraceParser({ source: 'x.txt', lenient });
  for (const line of text.split('\n')) parser.push(line);
  return parser.finish();
}

test('pymalloc-grow.txt', (t) => {
  const result = parse(readFileSync(fixture('dtrace/pymalloc-grow.txt'), 'utf8'));
  t.true(result.began && result.ended);
  t.deepEqual(
    result.samples.map((sample) => [sample.frames.map((frame) => frame.name).join(';'), sample.values]),
    [
      ['grow.py;held_out_grow (line 12)', { allocs: 40, allocBytes: 41943040, frees: 0 }],
      ['grow.py;main (line 30)', { allocs: 3, allocBytes: 3072, frees: 1 }],
      ['[outside Python frames]', { allocs: 113, allocBytes: 530112, frees: 97 }],
    ],
  );
});

// Recorded from DTrace for Linux 2.0.7 (test/fixtures/dtrace/linux-2.0.7/README-pymalloc.md):
// grow.py --repeat 3, whose two functions' figures are known exactly.
const GROW = '/work/wt-dt-py/test/workloads/python/grow.py';
const GROW_ROWS = [
  [`${GROW};hold_out_grow (line 23)`, { allocs: 69, allocBytes: 72354021, frees: 0 }],
  [`${GROW};hold_out_release (line 28)`, { allocs: 0, allocBytes: 0, frees: 69 }],
];

function growRows(text: string) {
  const result = parse(text);
  const rows = result.samples
    .filter((sample) => sample.frames[0]!.name === GROW)
    .map((sample) => [sample.frames.map((frame) => frame.name).join(';'), sample.values])
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
  return { result, rows };
}

test('linux-2.0.7/pymalloc-grow-launched.txt', (t) => {
  const { result, rows } = growRows(readFileSync(fixture('dtrace/linux-2.0.7/pymalloc-grow-launched.txt'), 'utf8'));
  t.true(result.began && result.ended);
  t.deepEqual(rows, GROW_ROWS);
  t.is(result.samples.length, 126);
  t.is(result.lines.foreign, 1);
  t.deepEqual(result.samples.find((sample) => sample.frames[0]!.name === '[outside Python frames]')!.values, {
    allocs: 352,
    allocBytes: 883662,
    frees: 494,
  });
});

test('linux-2.0.7/pymalloc-grow-attached.txt', (t) => {
  const { result, rows } = growRows(readFileSync(fixture('dtrace/linux-2.0.7/pymalloc-grow-attached.txt'), 'utf8'));
  t.true(result.began && result.ended);
  t.deepEqual(rows, GROW_ROWS);
  t.is(result.samples.length, 3);
  t.is(result.lines.foreign, 0);
});

test('linux-2.0.7/pymalloc-grow-no-provider.txt: a CPython without the provider, everything outside Python frames, and the note says why', (t) => {
  const result = parse(readFileSync(fixture('dtrace/linux-2.0.7/pymalloc-grow-no-provider.txt'), 'utf8'));
  t.true(result.began && result.ended);
  t.deepEqual(
    result.samples.map((sample) => [sample.frames.map((frame) => frame.name), sample.values]),
    [[['[outside Python frames]'], { allocs: 3397, allocBytes: 26123593, frees: 3270 }]],
  );
  const notes = pyMallocDtraceNotes(result);
  t.is(notes.length, 1);
  t.regex(notes[0]!, /^no allocation or free was seen inside a Python function: the python provider never fired/);
  for (const name of ['launched', 'attached'])
    t.deepEqual(pyMallocDtraceNotes(parse(readFileSync(fixture(`dtrace/linux-2.0.7/pymalloc-grow-${name}.txt`), 'utf8'))), []);
  t.deepEqual(pyMallocDtraceNotes(parse('memtrace:begin pymalloc\n')), [], 'not ended: the partial note speaks');
});

test('linux-2.0.7/pymalloc-grow-no-allocator.txt: the program as checked in (macOS module) on Linux counts nothing, and the note says why', (t) => {
  const result = parse(readFileSync(fixture('dtrace/linux-2.0.7/pymalloc-grow-no-allocator.txt'), 'utf8'));
  t.true(result.began && result.ended);
  t.deepEqual([result.samples, result.lines.foreign], [[], 1]);
  t.deepEqual(pyMallocDtraceNotes(result), [
    'no malloc, calloc, realloc or free call was counted: the pid provider matched no allocator. The program names one module (libsystem_malloc.dylib as checked in); on Linux render it with memtrace scripts pymalloc --lib libc.so.6',
  ]);
});

test('both recordings are detected as the Python flow output', (t) => {
  for (const name of ['launched', 'attached'])
    t.true(looksLikePyMallocDtrace(readFileSync(fixture(`dtrace/linux-2.0.7/pymalloc-grow-${name}.txt`), 'utf8')));
});

test('a truncated output has not ended; a garbled record names the line', (t) => {
  t.false(parse('memtrace:begin pymalloc\n').ended);
  const error = t.throws(() => parse('memtrace:begin pymalloc\nmemtrace:end 5\npy\tgrow.py\tf\tx\t1\t2\t3'), { instanceOf: ParseError });
  t.is(error!.lineNumber, 3);
  t.is(parse('memtrace:end 5\npy\tgrow.py\tf\tx\t1\t2\t3', true).lines.malformed, 1);
});

test('detection', (t) => {
  t.true(looksLikePyMallocDtrace('memtrace:begin pymalloc\n'));
  t.false(looksLikePyMallocDtrace(readFileSync(fixture('dtrace/malloc-known.txt'), 'utf8')));
});

test('empty input: no samples, not begun', (t) => {
  const result = parse('');
  t.deepEqual([result.samples, result.began, result.ended, result.lines.malformed], [[], false, false, 0]);
});
