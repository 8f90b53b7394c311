import test from 'ava';
import { StackCuts, type WalkedFrame } from '../../../src/tools/common/stack-cut.js';

const code = (name: string, module: string): WalkedFrame => ({ frame: { name, module }, code: true, afterCall: true });

test('a walk reaching a frame outside code is cut there, the garbage dropped, and counted by the last good module', (t) => {
  // given: sqlite3's stack of the issue, leaf first, ending in ASCII read as an address
  const cuts = new StackCuts();
  const leaf: WalkedFrame = { frame: { name: 'libsqlite3.so.0.8.6+0xa7504', module: 'libsqlite3.so.0.8.6' }, code: true };
  const garbage: WalkedFrame = { frame: { name: '0x2f00646165722e00' }, code: false };
  // when
  const frames = cuts.cut([leaf, garbage, code('main', 'sqlite3')], { depthLimited: false, weight: 23 });
  // then
  t.deepEqual(frames, [leaf.frame, { name: '[stack cut in libsqlite3.so.0.8.6: no frame pointers]' }]);
  t.is(cuts.count, 1);
});

test('a return address no call precedes is garbage too; the leaf is never cut', (t) => {
  const cuts = new StackCuts();
  const leaf: WalkedFrame = { frame: { name: '0x1000' }, code: false };
  const fake: WalkedFrame = { frame: { name: 'PyList_Append', module: 'python3.11' }, code: true, afterCall: false };
  t.deepEqual(cuts.cut([leaf, code('PyList_Append', 'python3.11'), fake], { depthLimited: false, weight: 1 }), [
    leaf.frame,
    { name: 'PyList_Append', module: 'python3.11' },
    { name: '[stack cut in python3.11: no frame pointers]' },
  ]);
});

test('a walk that stops short of a thread entry is marked; one reaching it, or filling --stack-depth, is whole', (t) => {
  const cuts = new StackCuts();
  const whole = [code('make_pages', 'known-allocs'), code('main', 'known-allocs'), code('__libc_start_call_main', 'libc.so.6')];
  t.deepEqual(
    cuts.cut(whole, { depthLimited: false, weight: 5 }),
    whole.map((step) => step.frame),
  );
  const thread = [code('worker', 'prog'), code('start_thread', 'libc.so.6')];
  t.is(cuts.cut(thread, { depthLimited: false, weight: 5 }).length, 2);
  const deep = [code('a', 'prog'), code('b', 'prog')];
  t.is(cuts.cut(deep, { depthLimited: true, weight: 5 }).length, 2);
  t.is(cuts.count, 0);
  t.is(cuts.note(), null);
  t.deepEqual(cuts.cut([code('sqlite3VdbeExec', 'libsqlite3.so.0.8.6')], { depthLimited: false, weight: 5 }).at(-1), {
    name: '[stack cut in libsqlite3.so.0.8.6: no frame pointers]',
  });
});

test('a stack whose leaf is outside code is not judged by where its walk stopped', (t) => {
  const cuts = new StackCuts();
  t.deepEqual(cuts.cut([{ frame: { name: '0x56016491dc8e' }, code: false }], { depthLimited: false, weight: 1 }), [
    { name: '0x56016491dc8e' },
  ]);
  t.is(cuts.count, 0);
});

test('frames named by the tracer (nothing known of their addresses) are never judged', (t) => {
  const cuts = new StackCuts();
  const frames = [{ frame: { name: 'malloc', module: 'libc.so.6' } }, { frame: { name: 'caller', module: 'prog' } }];
  t.is(cuts.cut(frames, { depthLimited: false, weight: 1 }).length, 2);
  t.is(cuts.count, 0);
});

test('the note names the modules, the heaviest first, and what gives whole stacks', (t) => {
  const cuts = new StackCuts();
  cuts.cut([code('f', 'libc.so.6')], { depthLimited: false, weight: 1 });
  cuts.cut([code('g', 'libc.so.6')], { depthLimited: false, weight: 1 });
  cuts.cut([code('h', 'libsqlite3.so.0.8.6')], { depthLimited: false, weight: 141_897 });
  t.is(
    cuts.note(),
    '3 stacks were cut where the frame-pointer walk lost the stack, in libsqlite3.so.0.8.6 (1), libc.so.6 (2) (built without frame pointers): ' +
      'bpftrace 0.26 or later unwinds with DWARF and gives whole stacks: `memtrace setup-bpftrace` or `--stacks dwarf` (docs/compat.md)',
  );
});
