import test from 'ava';
import { GC_EXTENSIONS, renderGc } from '../../src/report/gc-index.js';
import { GC_REPORTS } from '../../src/report/gc-index.js';
import { reportRequestsFor } from '../../src/tools/common/write-reports.js';

const gcReportRequests = (paths: string[], format: string | null) => reportRequestsFor(paths, format, GC_REPORTS);
import { readGcLog } from '../../src/tools/gc/report-input.js';
import { fixture } from '../helpers/workloads.js';

test('formats by extension; stdout gets a table unless -f says otherwise', (t) => {
  t.deepEqual(
    gcReportRequests(['a.txt', 'b.json', 'c.tsv', 'd.csv', 'e.svg', 'f.jsonl'], null).map((r) => r.format),
    ['table', 'json', 'tsv', 'csv', 'svg', 'series'],
  );
  t.deepEqual(gcReportRequests([], null), [{ path: null, format: 'table' }]);
  t.deepEqual(gcReportRequests([], 'json'), [{ path: null, format: 'json' }]);
  t.throws(() => gcReportRequests(['x.folded'], null), {
    message:
      /x\.folded: cannot tell the report format from the extension; use one of \.txt \.table \.json \.tsv \.csv \.svg \.jsonl \.ndjson/,
  });
  t.throws(() => gcReportRequests([], 'pprof'), { message: /--format: expected one of table, json, tsv, csv, svg, series, got "pprof"/ });
  t.is(Object.keys(GC_EXTENSIONS).length, 8);
});

test('series: a memtrace process log, header first, one sample per collection, a mark per mark-compact', async (t) => {
  const log = await readGcLog(fixture('bpftrace/debian12-0.17/gc-alloc-loop.text.txt'), { lenient: false });
  const records = renderGc(log, 'series')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string });
  t.is(records[0]!.type, 'header');
  t.is(records.filter((r) => r.type === 'sample').length, 58);
  t.is(records.filter((r) => r.type === 'mark').length, 1);
});
