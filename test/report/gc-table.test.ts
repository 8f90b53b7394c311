import test from 'ava';
import { renderGcTable, MAX_ROWS } from '../../src/report/gc-table.js';
import { readGcLog } from '../../src/tools/gc/report-input.js';
import type { GcLog } from '../../src/model/gc-log.js';
import { fixture } from '../helpers/workloads.js';

const load = () => readGcLog(fixture('bpftrace/debian12-0.17/gc-alloc-loop.text.txt'), { lenient: false });

test('80 columns; the summary by kind, then every collection in time order', async (t) => {
  const table = renderGcTable(await load());
  const lines = table.trimEnd().split('\n');
  t.true(
    lines.every((line) => line.length <= 80),
    lines.find((line) => line.length > 80),
  );
  t.true(table.includes('58 collections\n'));
  t.true(
    table.includes(
      `${'scavenge'.padEnd(20)}${'57'.padStart(8)}${'384.38'.padStart(12)}${'5.73'.padStart(10)}${'69.36'.padStart(10)}${'69.36'.padStart(10)}`,
    ),
  );
  t.true(table.includes(`${'mark-compact'.padEnd(20)}${'1'.padStart(8)}${'16.43'.padStart(12)}`));
  t.is(lines.filter((line) => / scavenge {11}allocation failure/.test(line)).length, 57);
  t.regex(table, /mark-compact {7}finalize incremental mark… +16\.43 +86\.4 MiB/);
});

test('partial, lost and skipped are said at the top, in 80 columns', async (t) => {
  const log: GcLog = { ...(await load()), partialReason: 'interrupted by SIGINT: the collections until then', lostEvents: 3, badLines: 2 };
  const lines = renderGcTable(log).split('\n');
  t.is(lines[2], 'PARTIAL: interrupted by SIGINT: the collections until then');
  t.is(lines[3], 'Losses: 3 lost events, 2 unreadable lines skipped; tracer notices: 1');
});

test("no losses is said too, with the tracer notices read (bpftrace's banner)", async (t) => {
  t.is(renderGcTable(await load()).split('\n')[2], 'Losses: none; tracer notices: 1');
});

test('no collections: said in words', async (t) => {
  t.true(renderGcTable({ ...(await load()), collections: [], summary: [] }).endsWith('No garbage collections were seen.\n'));
});

test(`past ${MAX_ROWS} rows the table says how many more the json and tsv have`, async (t) => {
  const log = await load();
  const many = { ...log, collections: Array.from({ length: MAX_ROWS + 23 }, () => log.collections[0]!) };
  t.true(renderGcTable(many).endsWith('… 23 more collections (the json and tsv reports list them all)\n'));
});

test("the tracer's choices are in the header", async (t) => {
  const log = await load();
  const table = renderGcTable({
    ...log,
    header: {
      ...log.header,
      tracer: {
        name: 'bpftrace',
        version: '0.23.2',
        choices: ['uprobes attached for the traced process only (per-PID uprobes): other processes using node do not trap'],
      },
    },
  });
  t.regex(
    table,
    /^Tracer: uprobes attached for the traced process only \(per-PID uprobes\): other\n {2}processes using node do not trap$/m,
  );
});
