// memtrace report on DTrace output: printed aggregations (any D script's) and memtrace's D malloc
// output, detected from the content, on fixtures in DTrace's documented formats.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

const dtrace = (name: string) => fixture(`dtrace/${name}`);

test('the D malloc output is the malloc report: exact totals and the outstanding blocks', async (t) => {
  const result = await memtraceAuto(['report', dtrace('malloc-known.txt'), '-f', 'json']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.deepEqual(profile.totals, { allocs: 25, frees: 25, allocBytes: 24832, failed: 1, freeNull: 3, outstanding: 5, outstandingBytes: 4352 });
  t.deepEqual(profile.tracer, { name: 'dtrace', version: null });
  t.deepEqual(
    profile.stacks.map((stack) => stack.oldestAgeSeconds),
    [0.172528, 0.172448],
  );
  t.false(profile.partial);
});

test('the D malloc output cut by Ctrl-C is reported as partial', async (t) => {
  const result = await memtraceAuto(['report', dtrace('malloc-known-truncated.txt'), '-f', 'json']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.is(profile.partialReason, `${dtrace('malloc-known-truncated.txt')} ends in the middle of a record`);
  t.is(profile.totals.outstanding, 5);
});

test('a garbled D malloc log names file and line; --lenient counts the lines', async (t) => {
  const strict = await memtraceAuto(['report', dtrace('malloc-known-garbled.txt')]);
  t.is(strict.exitCode, 3);
  t.regex(`${strict.stderr}`, /malloc-known-garbled\.txt:23: not valid memtrace's DTrace malloc output/);
  const lenient = await memtraceAuto(['report', dtrace('malloc-known-garbled.txt'), '--lenient', '-f', 'json']);
  t.is(lenient.exitCode, 0, `${lenient.stderr}`);
  t.is((JSON.parse(`${lenient.stdout}`) as MallocProfile).losses.skippedLines, 5);
});

test('printed ustack() aggregations fold as FlameGraph folds them', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'x.folded');
  const result = await memtraceAuto(['report', dtrace('aggregation-ustack-count.txt'), '-o', out]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.is(
    readFileSync(out, 'utf8'),
    '0x7ff80a1b2c3d;known-allocs`0x100003f20;libsystem_malloc.dylib`malloc 1\n' +
      'dyld`start;known-allocs`main;known-allocs`Table::grow;libc++abi.dylib`operator new(unsigned long);libsystem_malloc.dylib`malloc 2\n' +
      'dyld`start;known-allocs`main;known-allocs`make_block;libsystem_malloc.dylib`malloc 23\n',
  );
});

test('the table shows keyed values and distributions', async (t) => {
  const result = await memtraceAuto(['report', dtrace('aggregation-keyed-quantize.txt')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const text = `${result.stdout}`;
  t.regex(text, /^Values, by key\n {2}23,552 {2}malloc\n {2} 1,280 {2}calloc$/m);
  t.regex(
    text,
    /^Distribution \(25 values\)\n {2} {2}256 \| {40} 0\n {2} {2}512 \|@@@ {37} 2\n {3}1024 \|@{37} {3} 23\n {3}2048 \| {40} 0$/m,
  );
  t.regex(text, /^Distribution of malloc \(4 values\)$/m);
});

test('a cut aggregation log is marked partial in the table', async (t) => {
  const result = await memtraceAuto(['report', dtrace('aggregation-truncated.txt')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stdout}`, /^PARTIAL: the output ends inside an aggregation \(the run was cut short\)$/m);
});

test('an empty file is a usage error that lists the inputs, dtrace among them', async (t) => {
  const result = await memtraceAuto(['report', dtrace('empty.txt')]);
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /is empty: nothing to report/);
  const named = await memtraceAuto(['report', '--input-format', 'dtrace', dtrace('empty.txt')]);
  t.is(named.exitCode, 3);
  t.regex(`${named.stderr}`, /empty\.txt:1: not valid DTrace aggregation output: expected printed aggregations; the file is empty/);
});

test('report --help lists both DTrace inputs', async (t) => {
  const result = await memtraceAuto(['report', '--help']);
  t.regex(`${result.stdout}`, /^ {2}malloc-dtrace +memtrace-dtrace malloc --raw-out log, scripts\/dtrace\/malloc\.d output$/m);
  t.regex(`${result.stdout}`, /^ {2}dtrace +DTrace aggregations as printed/m);
});

test('scripts: each backend prints its own checked-in programs', async (t) => {
  const d = await memtraceAuto(['scripts', '--backend', 'dtrace', 'malloc']);
  t.is(d.exitCode, 0);
  t.is(`${d.stdout}\n`, readFileSync(fixture('../../scripts/dtrace/malloc.d'), 'utf8'));
  const py = await memtraceAuto(['scripts', '--backend', 'dtrace', 'pymalloc']);
  t.is(`${py.stdout}\n`, readFileSync(fixture('../../scripts/dtrace/pymalloc.d'), 'utf8'));
  const bpf = await memtraceAuto(['scripts', '--backend', 'bpf', 'pymalloc']);
  t.is(bpf.exitCode, 2);
  t.regex(`${bpf.stderr}`, /expected a tool name: malloc, external, gc, faults, calls \(bpf\)/);
  const odd = await memtraceAuto(['scripts', '--backend', 'dtrace', 'constructor']);
  t.is(odd.exitCode, 2);
});

test('the Python flow script output: allocations by Python file and function', async (t) => {
  const result = await memtraceAuto(['report', dtrace('pymalloc-grow.txt'), '-f', 'folded']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.is(`${result.stdout}`, '[outside Python frames] 530112\ngrow.py;held_out_grow (line 12) 41943040\ngrow.py;main (line 30) 3072');
});

test("printed stacks with Python's ustack helper annotations: folded, table and svg show the Python functions with file and line", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const result = await memtraceAuto([
    'report',
    dtrace('aggregation-python-annotations.txt'),
    '-o',
    join(dir, 'x.folded'),
    '-o',
    join(dir, 'x.svg'),
    '-o',
    join(dir, 'x.txt'),
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(
    readFileSync(join(dir, 'x.folded'), 'utf8'),
    /;iterencode \(\/usr\/lib\/python3\.9\/json\/encoder\.py:257\);libpython3\.9\.so\.1\.0`_PyEval_EvalFrameDefault;/,
  );
  t.regex(readFileSync(join(dir, 'x.svg'), 'utf8'), /data-name="iterencode \(\/usr\/lib\/python3\.9\/json\/encoder\.py:257\)"/);
  t.regex(
    readFileSync(join(dir, 'x.txt'), 'utf8'),
    /23 +92\.0% +libc\.so\.1`malloc ← libpython3\.9\.so\.1\.0`PyUnicode_New ← .* ← iterencode \(\/usr\/lib\/python3\.9\/json\/encoder\.py:257\)/,
  );
});

test('an annotation before any frame: the error names the file and line 1', async (t) => {
  const result = await memtraceAuto(['report', dtrace('aggregation-annotation-orphan.txt')]);
  t.is(result.exitCode, 3);
  t.regex(
    `${result.stderr}`,
    /aggregation-annotation-orphan\.txt:1: not valid DTrace aggregation output: expected a stack frame before the annotation/,
  );
});
