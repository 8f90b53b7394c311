// memtrace report on output of Debian testing's bpftrace 0.27, recorded from real runs of the same
// workload as the 0.17 and 0.23 fixtures (test/fixtures/bpftrace/debian-testing-0.27/README.md,
// record-0.27.sh): memtrace's raw logs in DWARF and frame-pointer mode, and the standalone
// scripts/bpf/malloc.bt's text and -f json output.
import test from 'ava';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { KNOWN_FUNCTIONS, KNOWN_STACKS, KNOWN_TOTALS, functionsByName, stacksOf } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';

const recorded = (name: string) => fixture(`bpftrace/debian-testing-0.27/${name}`);

const exactFigures = test.macro(async (t, name: string, rootFrames: string[]) => {
  const profile = await readMallocLog(recorded(name), { lenient: false });
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  const functions = functionsByName(profile);
  for (const [fn, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[fn], expected, fn);
  for (const [leaf, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks, ...sums } = stacksOf(profile, leaf);
    t.deepEqual(sums, expected, leaf);
    for (const stack of stacks)
      t.deepEqual(
        stack.frames.map((frame) => frame.name),
        [...rootFrames, leaf],
      );
  }
  t.is(profile.losses.unsymbolizedFrames, 0);
  t.is(profile.losses.truncatedStacks, 0);
});

// DWARF unwinding goes on past __libc_start_call_main, to the entry of the executable.
test('memtrace raw log through 0.27, DWARF stacks (launched, after the loader gate)', exactFigures, 'malloc-raw-launch-dwarf.ndjson', [
  '_start',
  '__libc_start_main',
  '__libc_start_call_main',
  'main',
]);
// The frame-pointer walk ends at __libc_start_call_main, whose caller keeps no frame pointer.
test('memtrace raw log through 0.27, frame-pointer stacks (--stacks fp)', exactFigures, 'malloc-raw-launch-fp.ndjson', [
  '__libc_start_call_main',
  'main',
]);
// 0.27 prints its warnings about the script (26 lines of them) in its output; the reader skips them,
// and reads 0.27's frames, "ADDR sym+off (module)".
test('0.27 text output of scripts/bpf/malloc.bt, warnings included', exactFigures, 'malloc-known-allocs-symbolized.text.txt', [
  '__libc_start_call_main',
  'main',
]);

// 0.27's -f json drops the spaces of a stack key's frames ("559c4f881318make_pages+30(/path)"),
// where the address and the name run together; memtrace does not split them yet (the text output
// and memtrace's own raw logs, which keep raw addresses, are not affected).
test.failing(
  '0.27 -f json output of scripts/bpf/malloc.bt: per-stack figures (frames of stack keys unparsed: known)',
  exactFigures,
  'malloc-known-allocs-symbolized.json.ndjson',
  ['__libc_start_call_main', 'main'],
);

test('0.27 -f json output of scripts/bpf/malloc.bt: exact totals and functions', async (t) => {
  const profile = await readMallocLog(recorded('malloc-known-allocs-symbolized.json.ndjson'), { lenient: false });
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  const functions = functionsByName(profile);
  for (const [fn, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[fn], expected, fn);
});

test('each raw log records the unwinder memtrace chose and why', async (t) => {
  const dwarf = await readMallocLog(recorded('malloc-raw-launch-dwarf.ndjson'), { lenient: false });
  const fp = await readMallocLog(recorded('malloc-raw-launch-fp.ndjson'), { lenient: false });
  t.is(dwarf.tracer.version, '0.27.0');
  t.is(dwarf.tracer.stacks, 'dwarf');
  t.is(
    dwarf.tracer.choices?.[0],
    'user stacks unwound with DWARF call-frame information (dw_ustack): whole through code built without frame pointers',
  );
  t.is(fp.tracer.stacks, 'fp');
  t.is(fp.tracer.choices?.[0], 'user stacks walk frame pointers (--stacks fp): cut short in code built without them');
});
