import test from 'ava';
import { renderDtraceAggregationTable } from '../../src/report/dtrace-table.js';

const noStacks = { valueTypes: [{ name: 'value', unit: 'count' as const }], defaultValue: 'value', samples: [] };

test('values largest first, then each distribution with its bar and count', (t) => {
  const text = renderDtraceAggregationTable(
    {
      values: [
        { key: 'calloc', value: 7 },
        { key: 'malloc', value: 23 },
        { key: '', value: 2 },
      ],
      distributions: [
        {
          key: 'malloc',
          rows: [
            { label: '< 2', count: 1 },
            { label: '2', count: 0 },
            { label: '>= 10', count: 3 },
          ],
        },
      ],
    },
    noStacks,
    { title: 'T', top: 10, notes: ['a note'] },
  );
  t.is(
    text,
    [
      'T',
      'a note',
      '',
      'Values, by key',
      '  23  malloc',
      '   7  calloc',
      '   2  (no key)',
      '',
      'Distribution of malloc (4 values)',
      `    < 2 |${'@'.repeat(10).padEnd(40)} 1`,
      `      2 |${' '.repeat(40)} 0`,
      `  >= 10 |${'@'.repeat(30).padEnd(40)} 3`,
      '',
    ].join('\n'),
  );
});

test('--top limits the values shown', (t) => {
  const values = Array.from({ length: 23 }, (_, index) => ({ key: `k${index}`, value: index }));
  const text = renderDtraceAggregationTable({ values, distributions: [] }, noStacks, { title: 'T', top: 3 });
  t.is(text.split('\n').filter((line) => / k\d+$/.test(line)).length, 3);
  t.true(text.includes('  22  k22\n'));
});
