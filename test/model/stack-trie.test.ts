// The compact stack store: equal prefixes are one node, samples come out root first in the order
// their nodes were made, and the trie works on after freeze() dropped its index.
import test from 'ava';
import { FrameTable, ROOT, StackTrie } from '../../src/model/stack-trie.js';

function stackOf(trie: StackTrie, frames: FrameTable, names: string[]): number {
  return trie.path(
    Int32Array.from(names, (name) => frames.intern(name)),
    names.length,
  );
}

test('equal frames are one id; a module makes another frame', (t) => {
  const frames = new FrameTable();
  t.is(frames.intern('main'), frames.intern('main'));
  t.not(frames.intern('f', 'libc.so.6'), frames.intern('f'));
  t.deepEqual(frames.frames[frames.intern('f', 'libc.so.6')], { name: 'f', module: 'libc.so.6' });
});

test('stacks sharing their roots share nodes; values sum where a stack ends', (t) => {
  // given
  const frames = new FrameTable();
  const trie = new StackTrie(frames);
  // when
  trie.add(stackOf(trie, frames, ['main', 'a', 'leaf']), 23);
  trie.add(stackOf(trie, frames, ['main', 'b', 'leaf']), 7);
  trie.add(stackOf(trie, frames, ['main', 'a', 'leaf']), 5);
  trie.add(stackOf(trie, frames, ['main']), 2);
  trie.add(ROOT, 1);
  // then: main, a, leaf, b, leaf
  t.is(trie.size, 6);
  t.deepEqual(
    trie.samples('n').map((sample) => [sample.frames.map((frame) => frame.name).join(';'), sample.values.n]),
    [
      ['', 1],
      ['main', 2],
      ['main;a;leaf', 28],
      ['main;b;leaf', 7],
    ],
  );
});

test('child() after freeze() finds the same nodes and makes new ones', (t) => {
  const frames = new FrameTable();
  const trie = new StackTrie(frames);
  const deep = Array.from({ length: 3000 }, (_, index) => `f${index % 7}`);
  const leaf = stackOf(trie, frames, deep);
  trie.freeze();
  // a fresh walk (not the remembered path) through the rebuilt index
  let node = ROOT;
  for (const name of deep) node = trie.child(node, frames.intern(name));
  t.is(node, leaf);
  t.is(trie.child(ROOT, frames.intern('other')), trie.size - 1);
  t.is(trie.samples('n').length, 0);
});
