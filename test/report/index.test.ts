import test from 'ava';
import { formatFromPath, type ReportFormat } from '../../src/report/index.js';

const format = test.macro((t, path: string, expected: ReportFormat) => {
  t.is(formatFromPath(path), expected);
});
test('.json', format, 'leaks.json', 'json');
test('.svg', format, 'out/flame.svg', 'svg');
test('.folded', format, 'x.folded', 'folded');
test('.collapsed', format, 'x.collapsed', 'folded');
test('.tsv', format, 'x.tsv', 'tsv');
test('.txt', format, 'report.txt', 'table');
test('an unknown extension names the path and the accepted ones', (t) => {
  t.throws(() => formatFromPath('report.xyz'), {
    message:
      'report.xyz: cannot tell the report format from the extension; use one of .txt .table .json .folded .collapsed .svg .pb.gz .pprof .speedscope.json .html .htm .tsv .csv',
  });
});
