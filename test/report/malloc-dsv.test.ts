import { tsvParse } from 'd3-dsv';
import test from 'ava';
import { renderMallocTsv } from '../../src/report/malloc-tsv.js';
import { sampleProfile } from '../helpers/profiles.js';

test('rows by bytes, read back exactly by a TSV parser', (t) => {
  const rows = tsvParse(renderMallocTsv(sampleProfile()));
  t.deepEqual(rows.columns, ['stack', 'leaf', 'leafModule', 'allocs', 'allocBytes', 'outstanding', 'outstandingBytes', 'oldestAgeSeconds']);
  t.is(rows.length, 2);
  t.deepEqual({ ...rows[0] }, {
    stack: 'main;load<std::vector<int>&>',
    leaf: 'load<std::vector<int>&>',
    leafModule: 'myprog',
    allocs: '23',
    allocBytes: '94208',
    outstanding: '7',
    outstandingBytes: '28672',
    oldestAgeSeconds: '1.25',
  });
  t.is(rows[1]!.stack, 'main;parse:args');
  t.is(rows[1]!.oldestAgeSeconds, '');
});
