// The faults table, on the profile of a recorded --raw-out log (touch-pages attached by PID).
import test from 'ava';
import { renderFaultsTable } from '../../src/report/faults-table.js';
import { readFaultsLog } from '../../src/tools/faults/report-input.js';
import { fixture } from '../helpers/workloads.js';

test('faults-raw-attach.ndjson: the table', async (t) => {
  const profile = await readFaultsLog(fixture('bpftrace/debian12-0.17/faults-raw-attach.ndjson'), { lenient: false });
  const table = renderFaultsTable(profile, { top: 2 });
  t.is(
    table,
    `memtrace faults: PID 29613
traced 6.10 s, bpftrace 0.17.0, page size 4,096 B
Losses: none

Page faults   460: 447 on pages not present, 13 protection;
              447 writes, 0 instruction fetches
Made resident 1.75 MiB (at most: one page per fault on a page not present)
brk           1 calls, grew 116 KiB, shrank 0 B
mmap          3 calls (0 failed), mapped 1.64 MiB; munmap 0 calls, 0 B

Stacks by bytes made resident (leaf ← callers)
  1.43 MiB  82.1%  367 faults
   touch_heap ← main ← __libc_start_call_main
   148 KiB   8.3%  37 faults
   touch_mmap ← main ← __libc_start_call_main

Stacks by brk growth (leaf ← callers)
   116 KiB 100.0%
   brk ← touch_brk ← main ← __libc_start_call_main

Stacks by mmap length (leaf ← callers)
  1.44 MiB  88.1%
   __mmap ← sysmalloc_mmap.constprop.0
   148 KiB   8.8%
   __mmap ← touch_mmap ← main ← __libc_start_call_main
`,
  );
});

test('no brk or mmap: their sections are left out; a partial profile says so first', async (t) => {
  const profile = await readFaultsLog(fixture('bpftrace/debian12-0.17/faults-raw-attach.ndjson'), { lenient: false });
  const table = renderFaultsTable({
    ...profile,
    partial: true,
    partialReason: 'interrupted by SIGINT',
    stacks: profile.stacks.map((stack) => ({ ...stack, brkBytes: 0, mmapBytes: 0 })),
  });
  t.false(table.includes('Stacks by brk growth'));
  t.false(table.includes('Stacks by mmap length'));
  t.is(table.split('\n')[2], 'PARTIAL: interrupted by SIGINT');
});
