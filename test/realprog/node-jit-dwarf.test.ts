// Node with --js: what dw_ustack does at V8's generated code. V8's builtins and JIT code have no
// .eh_frame, so DWARF unwinding (--stacks dwarf) stops at the first of them (the CEntry builtin
// through which JS calls into C++): the native frames below it are named, the JS frames above it
// are never reached, and the report says where and why. Frame pointers, which V8 keeps in its
// generated code, do reach the JS frames: --js walks them by default, on every bpftrace.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { LIVE_DWARF, liveTest } from '../helpers/live.js';
import { memtrace } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const BUFFERS = join(ROOT, 'test/workloads/node/buffers.js');
// Only the 23 Buffers' backing stores (98,760 bytes each, from calloc or malloc).
const ONLY_BUFFERS = ['--min-size', '98760', '--max-size', '98760'];

async function traceBuffers(stacks: string[]) {
  const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'node.json');
  const traced = await memtrace(['malloc', '--js', ...stacks, ...ONLY_BUFFERS, '-o', output, '--', 'node', '--expose-gc', BUFFERS], {
    timeout: 180_000,
  });
  return { traced, profile: JSON.parse(readFileSync(output, 'utf8')) as MallocProfile };
}

if (LIVE_DWARF) {
  liveTest("--stacks dwarf: stacks stop at V8's CEntry builtin, marked and explained; no JS frame", async (t) => {
    const { traced, profile } = await traceBuffers(['--stacks', 'dwarf']);
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    t.is(profile.tracer.stacks, 'dwarf');
    t.is(profile.totals.allocs, 23);
    for (const stack of profile.stacks) {
      const names = stack.frames.map((frame) => frame.name);
      t.is(names[0], '[DWARF unwinding stopped]', names.join(' > '));
      t.is(names[1], 'Builtins_CEntry_Return1_ArgvOnStack_BuiltinExit');
      t.true(names.at(-1)!.startsWith('node::NodeArrayBufferAllocator::'), names.join(' > '));
      t.false(stack.frames.some((frame) => frame.kind === 'js'));
    }
    t.true(
      profile.notes.some((note) =>
        / ends? where DWARF unwinding stopped, after node: no call-frame information for the next frame \(JIT code/.test(note),
      ),
      profile.notes.join('\n'),
    );
  });
}

// On any bpftrace: what the DWARF stacks above lack.
liveTest('by default --js walks frame pointers: JS frames from the perf map above the native ones', async (t) => {
  const { traced, profile } = await traceBuffers([]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(profile.tracer.stacks, 'fp');
  if (LIVE_DWARF)
    t.regex(
      (profile.tracer.choices ?? [])[0] ?? '',
      /^user stacks walk frame pointers: the target is node, whose JIT code has no DWARF call-frame information/,
    );
  t.is(profile.totals.allocs, 23);
  const named = profile.stacks.filter((stack) =>
    stack.frames.some((frame) => frame.kind === 'js' && /^JS:.makeDistinctBuffers .*buffers\.js:\d+$/.test(frame.name)),
  );
  t.is(
    named.reduce((sum, stack) => sum + stack.allocs, 0),
    23,
  );
});
