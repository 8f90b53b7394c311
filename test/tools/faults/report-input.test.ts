// memtrace report on recorded faults logs: memtrace's --raw-out log (names from its symbols record)
// and hand runs of scripts/bpf/faults.bt (addresses only), empty, truncated and garbled.
import test from 'ava';
import { ParseError } from '../../../src/errors.js';
import { readFaultsLog } from '../../../src/tools/faults/report-input.js';
import { renderFaults } from '../../../src/report/faults-index.js';
import { readLogHead } from '../../../src/parse/first-line.js';
import { chooseReportInput } from '../../../src/tools/report/inputs.js';
import { fixture } from '../../helpers/workloads.js';

const path = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);

test('faults-raw-attach.ndjson: the folded stacks of bytes made resident, named from the log', async (t) => {
  const profile = await readFaultsLog(path('faults-raw-attach.ndjson'), { lenient: false });
  t.false(profile.partial);
  t.is(profile.target.pid, 29613);
  t.is(
    renderFaults(profile, 'folded'),
    [
      '__libc_start_call_main;main;touch_brk 118784',
      '__libc_start_call_main;main;touch_heap 1503232',
      '__libc_start_call_main;main;touch_mmap 151552',
      '__libc_start_call_main;main;touch_zero 53248',
      'sysmalloc_mmap.constprop.0 4096',
      '',
    ].join('\n'),
  );
  t.is(renderFaults(profile, 'folded', { value: 'brkBytes' }), '__libc_start_call_main;main;touch_brk;brk 118784\n');
  t.is(
    renderFaults(profile, 'folded', { value: 'mmapBytes' }),
    '__libc_start_call_main;main;touch_mmap;__mmap 151552\n__libc_start_call_main;main;touch_zero;__mmap 53248\nsysmalloc_mmap.constprop.0;__mmap 1511424\n',
  );
});

test('faults-touch-pages.text.txt: a hand run, frames as addresses, and the report says why', async (t) => {
  const profile = await readFaultsLog(path('faults-touch-pages.text.txt'), { lenient: false });
  t.is(profile.totals.faults, 460);
  t.is(profile.stacks.length, 10);
  t.true(profile.stacks.every((stack) => stack.frames.every((frame) => frame.name.startsWith('0x'))));
  t.true(profile.notes.some((note) => note.includes('no memory maps')));
  // Leaves and frame-pointer callers of the 10 stacks; the candidates, unnamed, are dropped.
  t.is(profile.losses.unsymbolizedFrames, 26);
});

test('faults-touch-pages.json.ndjson: the same figures as the text form of the same run', async (t) => {
  const text = await readFaultsLog(path('faults-touch-pages.text.txt'), { lenient: false });
  const json = await readFaultsLog(path('faults-touch-pages.json.ndjson'), { lenient: false });
  t.deepEqual(json.totals, text.totals);
  t.deepEqual(json.stacks, text.stacks);
});

test('faults-touch-pages-truncated.text.txt: partial, with the totals it has', async (t) => {
  const profile = await readFaultsLog(path('faults-touch-pages-truncated.text.txt'), { lenient: false });
  t.true(profile.partial);
  t.regex(profile.partialReason!, /ends before the tracer had printed all its results/);
  t.is(profile.totals.faults, 460);
  t.regex(renderFaults(profile, 'table') as string, /^PARTIAL: /m);
});

test('empty.txt: a report that says the log holds nothing of the program', async (t) => {
  const profile = await readFaultsLog(path('empty.txt'), { lenient: false });
  t.true(profile.partial);
  t.true(profile.notes.some((note) => note.includes("holds no output of memtrace's faults program")));
});

test('faults-touch-pages-garbled.text.txt: ParseError, or with lenient the count in every report', async (t) => {
  await t.throwsAsync(readFaultsLog(path('faults-touch-pages-garbled.text.txt'), { lenient: false }), { instanceOf: ParseError });
  const profile = await readFaultsLog(path('faults-touch-pages-garbled.text.txt'), { lenient: true });
  t.is(profile.losses.skippedLines, 1);
  t.regex(renderFaults(profile, 'table') as string, /1 malformed lines skipped/);
  t.regex(renderFaults(profile, 'svg') as string, /1 malformed lines skipped \(--lenient\)/);
});

for (const name of ['faults-raw-attach.ndjson', 'faults-touch-pages.text.txt', 'faults-touch-pages.json.ndjson']) {
  test(`${name} is the faults input, not malloc's (both begin with memtrace:begin)`, async (t) => {
    t.is(chooseReportInput(path(name), await readLogHead(path(name)), null).name, 'faults');
  });
}
