import test from 'ava';
import { readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { formatByExtension } from '../../src/report/family.js';
import { CALL_LOG_EXTENSIONS, CALL_LOG_FORMATS, renderCallLog } from '../../src/report/call-log-index.js';
import { fixture } from '../helpers/workloads.js';

test('the format of an output path by its extension; table first, the stdout default', (t) => {
  t.deepEqual(
    ['calls.txt', 'calls.json', 'calls.tsv', 'calls.CSV', 'calls.svg', 'calls.folded'].map((path) =>
      formatByExtension(path, CALL_LOG_EXTENSIONS),
    ),
    ['table', 'json', 'tsv', 'csv', 'svg', undefined],
  );
  t.is(CALL_LOG_FORMATS[0], 'table');
});

test('each format renders the same log: the table, json, tsv, csv and svg of trace_default.log', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/trace_default.log'), { lenient: false });
  const options = { title: 'trace', top: 1 };
  t.regex(
    renderCallLog(log, 'table', options),
    /^7\.88 MiB {5}0 B {7}8 {2}new_str {3}…e\/u\/examples\/cPyMemTrace\/run_cpymemtrace\.py\n\(2 more functions; --top N shows more\)\n$/m,
  );
  t.is((JSON.parse(renderCallLog(log, 'json', options)) as { events: unknown[] }).events.length, 15);
  t.is(renderCallLog(log, 'tsv', options).trimEnd().split('\n').length, 16);
  t.is(renderCallLog(log, 'csv', options).split('\n')[0], 'number,role,clock,event,file,line,function,rss,drss');
  t.regex(renderCallLog(log, 'svg', options), /RSS at each event: trace/);
});
