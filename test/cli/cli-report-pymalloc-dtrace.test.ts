// memtrace report on pymalloc.d output recorded from DTrace for Linux (test/fixtures/dtrace/linux-2.0.7/).
import test from 'ava';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

test('a recording with no Python frame says the python provider never fired', async (t) => {
  const result = await memtraceAuto(['report', fixture('dtrace/linux-2.0.7/pymalloc-grow-no-provider.txt')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(
    `${result.stdout}`,
    /^no allocation or free was seen inside a Python function: the python provider never fired\. Its CPython lacks it \(built without --with-dtrace; 3\.12 to 3\.14 have no function-entry\), or every function ran from before the attach to the end$/m,
  );
});

test('the attached recording folds to the allocating lines, exactly', async (t) => {
  const result = await memtraceAuto(['report', fixture('dtrace/linux-2.0.7/pymalloc-grow-attached.txt'), '-f', 'folded']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.is(`${result.stdout}`, '/work/wt-dt-py/test/workloads/python/grow.py;hold_out_grow (line 23) 72354021\n[outside Python frames] 6564');
  t.notRegex(`${result.stdout}`, /python provider never fired/);
});

test('--value picks allocBytes, allocs or frees; another name is refused', async (t) => {
  const frees = await memtraceAuto([
    'report',
    fixture('dtrace/linux-2.0.7/pymalloc-grow-attached.txt'),
    '-f',
    'folded',
    '--value',
    'frees',
  ]);
  t.is(`${frees.stdout}`, '/work/wt-dt-py/test/workloads/python/grow.py;hold_out_release (line 28) 69\n[outside Python frames] 326');
  const odd = await memtraceAuto(['report', fixture('dtrace/linux-2.0.7/pymalloc-grow-attached.txt'), '--value', 'outstanding']);
  t.is(odd.exitCode, 2);
  t.regex(`${odd.stderr}`, /--value: expected allocBytes, allocs, frees for pymalloc\.d output, got "outstanding"/);
});
