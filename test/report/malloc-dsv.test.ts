import { csvParse, tsvParse } from 'd3-dsv';
import test from 'ava';
import { renderMalloc } from '../../src/report/index.js';
import { sampleProfile } from '../helpers/profiles.js';

const COLUMNS = ['stack', 'leaf', 'leafModule', 'allocs', 'allocBytes', 'outstanding', 'outstandingBytes', 'oldestAgeSeconds'];

const readsBack = test.macro((t, format: 'tsv' | 'csv', parse: typeof tsvParse) => {
  const rows = parse(renderMalloc(sampleProfile(), format) as string);
  t.deepEqual(rows.columns, COLUMNS);
  t.is(rows.length, 2);
  t.deepEqual(
    { ...rows[0] },
    {
      stack: 'main;load<std::vector<int>&>',
      leaf: 'load<std::vector<int>&>',
      leafModule: 'myprog',
      allocs: '23',
      allocBytes: '94208',
      outstanding: '7',
      outstandingBytes: '28672',
      oldestAgeSeconds: '1.25',
    },
  );
  t.is(rows[1]!.stack, 'main;parse:args');
  t.is(rows[1]!.oldestAgeSeconds, '');
});
test('tsv: rows by bytes, read back exactly by a TSV parser', readsBack, 'tsv', tsvParse);
test('csv: the same rows, read back exactly by a CSV parser', readsBack, 'csv', csvParse);

test('csv quotes a cell holding a comma or a quote, and reads it back', (t) => {
  const profile = sampleProfile();
  profile.stacks[0]!.frames = [
    { name: 'main', module: 'myprog' },
    { name: 'std::map<int, "x">::at', module: 'myprog' },
  ];
  const csv = renderMalloc(profile, 'csv') as string;
  t.is(csv.split('\n')[1], '"main;std::map<int, ""x"">::at","std::map<int, ""x"">::at",myprog,23,94208,7,28672,1.25');
  t.is(csvParse(csv)[0]!.leaf, 'std::map<int, "x">::at');
  t.is(
    (renderMalloc(profile, 'tsv') as string).split('\n')[1]!.split('\t')[1],
    '"std::map<int, ""x"">::at"',
    'd3-dsv quotes a quote in TSV too',
  );
});

test('an empty profile is the header line alone', (t) => {
  t.is(renderMalloc(sampleProfile({ stacks: [] }), 'csv'), `${COLUMNS.join(',')}\n`);
});
