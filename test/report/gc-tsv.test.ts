import test from 'ava';
import { renderGcTsv } from '../../src/report/gc-tsv.js';
import { readGcLog } from '../../src/tools/gc/report-input.js';
import { fixture } from '../helpers/workloads.js';

test('one row per collection, plain units; csv too; no reason is an empty cell', async (t) => {
  const log = await readGcLog(fixture('bpftrace/debian12-0.17/gc-forced-23.text.txt'), { lenient: false });
  const rows = renderGcTsv(log).trimEnd().split('\n');
  t.is(rows.length, 24);
  t.is(rows[0], 'startSeconds\tkind\treason\tpauseMs\trssBeforeBytes\trssAfterBytes\ttid');
  t.is(rows[1], '1.273901\tmark-compact\ttesting\t6.911001\t44261376\t44654592\t5388');
  const usdt = { ...log, collections: [{ ...log.collections[0]!, reason: null }] };
  t.is(renderGcTsv(usdt, 'comma').split('\n')[1], '1.273901,mark-compact,,6.911001,44261376,44654592,5388');
});
