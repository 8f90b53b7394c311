import test from 'ava';
import { emptyLosses } from '../../src/model/malloc-profile.js';
import { renderMallocTable } from '../../src/report/malloc-table.js';
import { sampleProfile } from '../helpers/profiles.js';

test('functions, totals, histogram, stacks and leak report, within 80 columns', (t) => {
  const table = renderMallocTable(sampleProfile());
  for (const line of table.split('\n')) t.true(line.length <= 80, line);
  t.regex(table, /^memtrace malloc: PID 4242: \.\/myprog --flag$/m);
  t.regex(table, /^malloc\s+31\s+92\.2 KiB\s+1$/m);
  t.regex(table, /^free\s+25$/m);
  t.regex(table, /^ {2}of which free\(NULL\)\s+2$/m);
  t.regex(table, /^Total: 30 allocations \(92\.2 KiB\), 23 frees, 1 failed; 7 outstanding \(28\.0 KiB\)$/m);
  t.regex(table, /^\[16, 32\)\s+7 \|@+ *\|$/m);
  t.regex(table, /^\[4K, 8K\)\s+23 \|@+\|$/m);
  t.regex(
    table,
    /^#1 {2}92\.0 KiB in 23 allocations, 7 outstanding \(28\.0 KiB\)\n {6}load<std::vector<int>&> \(myprog\)\n {6}main \(myprog\)$/m,
  );
  t.regex(table, /Outstanding at the end \(leak report\), by bytes\n#1 {2}28\.0 KiB in 7 blocks, oldest 1\.25 s/);
  t.regex(table, /^Losses: none$/m);
  t.notRegex(table, /PARTIAL/);
});

test('a partial trace and every loss are shown', (t) => {
  const table = renderMallocTable(
    sampleProfile({
      partial: true,
      partialReason: 'interrupted by SIGINT',
      losses: { ...emptyLosses(), lostEvents: 17, truncatedStacks: 3, untrackedLiveBlocks: 2 },
    }),
  );
  t.regex(table, /^PARTIAL: interrupted by SIGINT$/m);
  // Wrapped at 80 columns, never cut.
  t.true(
    table
      .split('\n')
      .join(' ')
      .includes('Losses: 17 lost events, 3 stacks cut at --stack-depth, 2 live blocks not tracked (live map full)'),
  );
});

test('sampling is stated', (t) => {
  t.regex(
    renderMallocTable(sampleProfile({ sampleEvery: 7 })),
    /^Sampled: stacks and outstanding blocks are 1 allocation in 7; totals are exact\.$/m,
  );
});

test('no calls says so', (t) => {
  const table = renderMallocTable(sampleProfile({ functions: [], stacks: [], histogram: { unit: 'bytes', buckets: [] } }));
  t.regex(table, /^No allocations were seen\.$/m);
});

test("the tracer's choices are in the header, wrapped within 80 columns", (t) => {
  const choices = [
    'free probed at free+9, past its NULL test (offset uprobe: the kernel emulates the instruction there); free(NULL) at free+200',
    'uprobes attached for the traced process only (per-PID uprobes): other processes using libc.so.6 do not trap',
  ];
  const table = renderMallocTable(sampleProfile({ tracer: { name: 'bpftrace', version: '0.23.2', choices } }));
  const header = table.slice(0, table.indexOf('Losses:'));
  for (const line of header.split('\n')) t.true(line.length <= 80, line);
  t.regex(header, /^Tracer: free probed at free\+9, past its NULL test/m);
  t.is(header.split('\n').filter((line) => line.startsWith('Tracer: ')).length, 2);
  t.true(header.replace(/\n {2}/g, ' ').includes(`Tracer: ${choices[1]}`));
  t.notRegex(renderMallocTable(sampleProfile()), /^Tracer:/m);
});
