// The reader of printed DTrace aggregations, on fixtures in DTrace's documented formats (see
// test/fixtures/dtrace/README.md): one test per fixture, titled by its file name.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import {
  DtraceAggregationReader,
  dtraceFrameName,
  looksLikeDtraceAggregations,
  type DtraceAggregations,
} from '../../src/parse/dtrace-aggregation.js';
import { renderFolded } from '../../src/report/folded.js';
import { fixture } from '../helpers/workloads.js';

function read(name: string, options: { lenient?: boolean; chunk?: (text: string) => string[] } = {}): DtraceAggregations {
  const reader = new DtraceAggregationReader({ source: name, lenient: options.lenient });
  const text = readFileSync(fixture(`dtrace/${name}`), 'utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) reader.push(line);
  return reader.finish();
}

function folded(result: DtraceAggregations): string {
  return renderFolded({ valueTypes: [{ name: 'value', unit: 'count' }], defaultValue: 'value', samples: result.stacks });
}

test('aggregation-ustack-count.txt', (t) => {
  const result = read('aggregation-ustack-count.txt');
  t.is(
    folded(result),
    [
      // Byte order, as stackcollapse.pl sorts; "operator new(unsigned long)" keeps its arguments (no "::").
      '0x7ff80a1b2c3d;known-allocs`0x100003f20;libsystem_malloc.dylib`malloc 1',
      'dyld`start;known-allocs`main;known-allocs`Table::grow;libc++abi.dylib`operator new(unsigned long);libsystem_malloc.dylib`malloc 2',
      'dyld`start;known-allocs`main;known-allocs`make_block;libsystem_malloc.dylib`malloc 23',
      '',
    ].join('\n'),
  );
  t.is(result.probeLines, 2);
  t.is(result.lines.foreign, 0);
  t.false(result.truncated);
});

test('aggregation-keyed-quantize.txt', (t) => {
  const result = read('aggregation-keyed-quantize.txt');
  t.deepEqual(result.values, [
    { key: 'calloc', value: 1280 },
    { key: 'malloc', value: 23552 },
  ]);
  t.deepEqual(result.distributions, [
    {
      key: '',
      rows: [
        { label: '256', count: 0 },
        { label: '512', count: 2 },
        { label: '1024', count: 23 },
        { label: '2048', count: 0 },
      ],
    },
    {
      key: 'malloc',
      rows: ['< 2', '2', '4', '6', '8', '>= 10'].map((label) => ({ label, count: label === '< 2' ? 1 : label === '>= 10' ? 3 : 0 })),
    },
  ]);
  t.is(result.stacks.length, 0);
});

test('aggregation-stack-quantize.txt', (t) => {
  const result = read('aggregation-stack-quantize.txt');
  t.is(folded(result), 'known-allocs`main;known-allocs`make_block;libsystem_malloc.dylib`malloc 23\n');
  t.deepEqual(result.distributions, []);
});

test('aggregation-truncated.txt', (t) => {
  const result = read('aggregation-truncated.txt');
  t.true(result.truncated);
  t.is(folded(result), 'dyld`start;known-allocs`main;known-allocs`make_block;libsystem_malloc.dylib`malloc 23\n');
});

test('aggregation-garbled.txt: the line, its number and what was expected', (t) => {
  const error = t.throws(() => read('aggregation-garbled.txt'), { instanceOf: ParseError });
  // The stray frame after the script's text opens a stack that gets no count.
  t.is(error!.lineNumber, 19);
  t.regex(
    error!.message,
    /^aggregation-garbled\.txt:19: not valid DTrace aggregation output: expected a count or a distribution after the stack: " +libsystem_malloc\.dylib`malloc"$/,
  );
});

test('aggregation-garbled.txt, lenient: the bad line is counted, the rest read', (t) => {
  const result = read('aggregation-garbled.txt', { lenient: true });
  t.is(result.lines.malformed, 1);
  t.is(result.lines.foreign, 1);
  t.is(
    result.stacks.reduce((sum, sample) => sum + sample.values.value!, 0),
    26,
  );
});

test('empty.txt: nothing read', (t) => {
  const result = read('empty.txt');
  t.deepEqual([result.stacks, result.values, result.distributions], [[], [], []]);
});

test('the same stack twice is summed, and an extra key field is the root frame', (t) => {
  const reader = new DtraceAggregationReader({ source: 'x' });
  for (const line of [
    '  prog',
    '              a.out`f+0x1',
    '              a.out`main+0x2',
    '                5',
    '',
    '  prog',
    '              a.out`f+0x9',
    '              a.out`main+0x2',
    '                7',
  ])
    reader.push(line);
  t.is(renderFolded({ valueTypes: [], defaultValue: 'value', samples: reader.finish().stacks }), 'prog;a.out`main;a.out`f 12\n');
});

test('drop notices mixed into a saved log are counted', (t) => {
  const reader = new DtraceAggregationReader({ source: 'x' });
  for (const line of [
    'dtrace: 5 drops on CPU 0',
    'dtrace: 2 aggregation drops on CPU 1',
    'dtrace: 1 dynamic variable drop',
    '              a.out`main',
    '                1',
  ])
    reader.push(line);
  const { notices } = reader.finish();
  t.deepEqual([notices.drops, notices.aggregationDrops, notices.dynamicVariableDrops], [5, 2, 1]);
});

test('frame names lose the offset and C++ arguments, as stackcollapse.pl names them', (t) => {
  t.is(dtraceFrameName('              libc.so.1`malloc+0x1d'), 'libc.so.1`malloc');
  t.is(dtraceFrameName('prog`ns::Table<int>::grow(int, char const*)+0x30'), 'prog`ns::Table<int>::grow');
  t.is(dtraceFrameName('libc++.1.dylib`0x7ff80a1b2c3d'), 'libc++.1.dylib`0x7ff80a1b2c3d');
  t.is(dtraceFrameName('   '), '-');
});

test('detection: stacks with counts, or a distribution; not memtrace logs', (t) => {
  t.true(looksLikeDtraceAggregations(readFileSync(fixture('dtrace/aggregation-ustack-count.txt'), 'utf8')));
  t.true(looksLikeDtraceAggregations(readFileSync(fixture('dtrace/aggregation-keyed-quantize.txt'), 'utf8')));
  t.false(looksLikeDtraceAggregations(readFileSync(fixture('dtrace/malloc-known.txt'), 'utf8')));
  t.false(looksLikeDtraceAggregations('root;leaf 3\n'));
});

// Recorded from real runs of DTrace for Linux 2.0.7 (test/fixtures/dtrace/linux-2.0.7/README.md):
// `dtrace -n 'pid$target:libc.so.6:malloc:return { @[ustack()] = count(); }'` on known-allocs.
test('linux-2.0.7/ustack-count-named.txt: the target alive at exit, frames named by DTrace', (t) => {
  const result = read('linux-2.0.7/ustack-count-named.txt');
  const lines = folded(result)
    .trim()
    .split('\n')
    .map((line) => line.replace(/0x[0-9a-f]+/, 'ADDR'));
  t.deepEqual(lines, [
    // glibc's __libc_start_call_main is local: DTrace prints module and address.
    'libc.so.6`ADDR;known-allocs`main;known-allocs`fail_twice 2',
    'libc.so.6`ADDR;known-allocs`main;known-allocs`grow_chain 1',
    'libc.so.6`ADDR;known-allocs`main;known-allocs`make_pages 29',
    'libc.so.6`ADDR;known-allocs`main;known-allocs`make_small 41',
  ]);
  t.is(result.probeLines, 2);
  t.is(result.lines.foreign, 0);
  t.false(result.truncated);
});

test('linux-2.0.7/ustack-count-exited.txt: the command exited before the print, frames are addresses', (t) => {
  const result = read('linux-2.0.7/ustack-count-exited.txt');
  t.deepEqual(
    result.stacks.map((stack) => stack.values.value).sort((a, b) => a! - b!),
    [1, 2, 29, 41],
  );
  t.true(result.stacks.every((stack) => stack.frames.length === 3 && stack.frames.every((frame) => /^0x[0-9a-f]+$/.test(frame.name))));
  // known-allocs' own "allocated" line, in dtrace's standard output with -c.
  t.is(result.lines.foreign, 1);
});

// ustack helpers' lines, in the shapes libdtrace's dt_print_ustack prints them (written, not
// recorded: test/fixtures/dtrace/README.md). Python's helper annotates the interpreter's frame.
test('aggregation-python-annotations.txt: each annotation is a Python frame with its file and line, the caller of its interpreter frame', (t) => {
  const result = read('aggregation-python-annotations.txt');
  const eval_ = 'libpython3.9.so.1.0`_PyEval_EvalFrameDefault';
  const call = 'libpython3.9.so.1.0`_PyFunction_Vectorcall';
  t.is(
    folded(result),
    [
      `python3.9\`main;libpython3.9.so.1.0\`_PyEval_EvalCode;<module> (/home/user/app.py:15);${eval_};${call};main (/home/user/app.py:12);${eval_};${call};dumps (/usr/lib/python3.9/json/__init__.py:234);${eval_};${call};iterencode (/usr/lib/python3.9/json/encoder.py:257);${eval_};libpython3.9.so.1.0\`_PyUnicodeWriter_Finish;libpython3.9.so.1.0\`PyUnicode_New;libc.so.1\`malloc 23`,
      `python3.9\`main;libpython3.9.so.1.0\`_PyEval_EvalCode;<module> (/home/user/app.py:3);${eval_};libpython3.9.so.1.0\`_PyObject_Malloc;libc.so.1\`malloc 2`,
      '',
    ].join('\n'),
  );
  const iterencode = result.stacks[0]!.frames.find((frame) => frame.name === 'iterencode');
  t.deepEqual(iterencode, { name: 'iterencode', kind: 'python', source: { file: '/usr/lib/python3.9/json/encoder.py', line: 257 } });
  t.false(result.truncated);
});

test('aggregation-node-jstack.txt: Node helper strings in place of frames are JS frames, with file and line or position', (t) => {
  const result = read('aggregation-node-jstack.txt');
  t.is(result.stacks.length, 1);
  const frames = result.stacks[0]!.frames;
  t.is(result.stacks[0]!.values.value, 7);
  t.deepEqual(
    frames.find((frame) => frame.name === 'writeResponse'),
    { name: 'writeResponse', kind: 'js', source: { file: '/srv/app/server.js', line: 41 } },
  );
  t.deepEqual(
    frames.find((frame) => frame.name === '(anon) as Server.emit'),
    { name: '(anon) as Server.emit', kind: 'js', source: { file: 'events.js', position: 4021 } },
  );
  t.deepEqual(
    frames.find((frame) => frame.name === '<< internal code >>'),
    { name: '<< internal code >>', kind: 'js' },
  );
  t.is(
    folded(result),
    'node`main;node`uv_run;node`_ZN2v88internalL6InvokeEbNS0_6HandleINS0_10JSFunctionEEENS0_6HandleINS0_6ObjectEEEiPS5_Pb;<< entry >>;<< internal code >>;<< adaptor >>;(anon) as Server.emit (events.js pos 4021);writeResponse (/srv/app/server.js:41);<< constructor >>;Buffer (buffer.js:206);<< exit >>;node`_ZN4node6Buffer3NewEm;libc.so.1`malloc 7\n',
  );
});

test('aggregation-python-truncated.txt: a run cut inside an annotation is partial, the complete stacks kept', (t) => {
  const result = read('aggregation-python-truncated.txt');
  t.true(result.truncated);
  t.deepEqual(result.stacks, []);
});

test('aggregation-annotation-garbled.txt: a [ without its ] names the file, its line and what was expected', (t) => {
  const error = t.throws(() => read('aggregation-annotation-garbled.txt'), { instanceOf: ParseError });
  t.is(error!.lineNumber, 5);
  t.regex(
    error!.message,
    /^aggregation-annotation-garbled\.txt:5: not valid DTrace aggregation output: expected a ustack helper's annotation whole on its line, \[ FILE:LINE \(FUNCTION\) \] \(this one has no closing ' \]' and is not the last line\): " +\[ \/usr\/lib\/python3\.9\/json\/encoder\.py:257 \(iterenc"$/,
  );
});

test('aggregation-annotation-garbled.txt, lenient: the bad annotation is counted, the lines after it read', (t) => {
  const result = read('aggregation-annotation-garbled.txt', { lenient: true });
  t.is(result.lines.malformed, 1);
  // The first stack's frames after the bad line form a stack of their own; nothing is dropped unseen.
  t.is(
    result.stacks.reduce((sum, sample) => sum + sample.values.value!, 0),
    25,
  );
});

test('aggregation-annotation-orphan.txt: an annotation before any frame names the file, line 1 and what was expected', (t) => {
  const error = t.throws(() => read('aggregation-annotation-orphan.txt'), { instanceOf: ParseError });
  t.is(error!.lineNumber, 1);
  t.regex(
    error!.message,
    /^aggregation-annotation-orphan\.txt:1: not valid DTrace aggregation output: expected a stack frame before the annotation \(\[ … \]\): an annotation is printed under the frame it annotates: /,
  );
});

test("a line inside a stack at another indent than the frames is no helper's string: an error", (t) => {
  const reader = new DtraceAggregationReader({ source: 'x' });
  reader.push('              a.out`f+0x1');
  const error = t.throws(() => reader.push('      stray text'), { instanceOf: ParseError });
  t.regex(
    error!.message,
    /^x:2: .*expected a stack frame \(module`function\+0xoffset, or a ustack helper's string at the frames' indent\)/,
  );
});
