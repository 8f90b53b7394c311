// --stacks dwarf against what the bpftrace under test can do: refused with the way out by a
// bpftrace without DWARF unwinding (0.17 to 0.25); rendered with dw_ustack and its config by one with it.
import { LIVE_DWARF, liveTest } from '../helpers/live.js';
import { memtrace } from '../helpers/cli.js';
import { buildWorkload } from '../helpers/workloads.js';

if (LIVE_DWARF) {
  liveTest('--print-script --stacks dwarf: the config that enables dw_ustack, and dw_ustack where the stack is taken', async (t) => {
    const printed = await memtrace(['malloc', '--print-script', '--stacks', 'dwarf', '--', buildWorkload('known-allocs')]);
    t.is(printed.exitCode, 0, `${printed.stderr}`);
    const script = `${printed.stdout}`;
    t.regex(script, /^config = \{\n {2}unstable_dw_ustack = enable\n\}$/m);
    t.regex(script, /^\/\/ memtrace: user stacks unwound with DWARF call-frame information \(dw_ustack, --stacks dwarf\)/m);
    // One stack taken per allocating function (malloc, calloc, realloc, reallocarray, posix_memalign,
    // aligned_alloc, valloc, pvalloc), at its return; no frame-pointer walk left.
    t.is(script.match(/\$stack = dw_ustack\(raw, 24\);/g)?.length, 8);
    t.notRegex(script, /\bustack\(/);
  });
} else {
  liveTest('--stacks dwarf on a bpftrace without DWARF unwinding: exit 2, saying what can and how', async (t) => {
    const traced = await memtrace(['malloc', '--stacks', 'dwarf', '--', buildWorkload('known-allocs')]);
    t.is(traced.exitCode, 2);
    t.regex(
      `${traced.stderr}`,
      /^memtrace-bpf: --stacks dwarf: bpftrace [\d.]+ \(\S+\) cannot unwind stacks with DWARF \(its --info does not say "dwunwind: yes"\); bpftrace 0\.26 or later built with LLVM 21 can: run "memtrace-bpf setup-bpftrace" to set up a private one \(docs\/compat\.md\), or use --stacks fp$/m,
    );
    t.is(`${traced.stdout}`, '');
  });
}
