// The faults table, on the profile of a recorded --raw-out log (touch-pages attached by PID).
import test from 'ava';
import { renderFaultsTable } from '../../src/report/faults-table.js';
import { readFaultsLog } from '../../src/tools/faults-report.js';
import { fixture } from '../helpers/workloads.js';

test('faults-raw-attach.ndjson: the table', async (t) => {
  const profile = await readFaultsLog(fixture('bpftrace/debian12-0.17/faults-raw-attach.ndjson'), { lenient: false });
  const table = renderFaultsTable(profile, { top: 2 });
  t.is(
    table,
    `memtrace faults: PID 31793
traced 8.80 s, bpftrace 0.17.0, page size 4,096 B
Losses: none

Page faults   434: 434 on pages not present, 0 protection;
              434 writes, 0 instruction fetches
Made resident 1.70 MiB (at most: one page per fault on a page not present)
brk           1 calls, grew 116 KiB, shrank 0 B
mmap          2 calls (0 failed), mapped 1.59 MiB; munmap 0 calls, 0 B

Stacks by bytes made resident (leaf ← callers)
  1.43 MiB  84.6%  367 faults
   touch_heap ← main ← __libc_start_call_main
   148 KiB   8.5%  37 faults
   touch_mmap ← main ← __libc_start_call_main

Stacks by brk growth (leaf ← callers)
   116 KiB 100.0%
   brk ← touch_brk ← main ← __libc_start_call_main

Stacks by mmap length (leaf ← callers)
  1.44 MiB  90.9%
   __mmap ← sysmalloc_mmap.constprop.0
   148 KiB   9.1%
   __mmap ← touch_mmap ← main ← __libc_start_call_main
`,
  );
});

test('no brk or mmap: their sections are left out; a partial profile says so first', async (t) => {
  const profile = await readFaultsLog(fixture('bpftrace/debian12-0.17/faults-raw-attach.ndjson'), { lenient: false });
  const table = renderFaultsTable({ ...profile, partial: true, partialReason: 'interrupted by SIGINT', stacks: profile.stacks.map((stack) => ({ ...stack, brkBytes: 0, mmapBytes: 0 })) });
  t.false(table.includes('Stacks by brk growth'));
  t.false(table.includes('Stacks by mmap length'));
  t.is(table.split('\n')[2], 'PARTIAL: interrupted by SIGINT');
});
