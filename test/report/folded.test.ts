import test from 'ava';
import fc from 'fast-check';
import { mallocStackProfile } from '../../src/model/malloc-profile.js';
import { FrameTable, StackTrie } from '../../src/model/stack-trie.js';
import { renderFolded, renderFoldedTrie } from '../../src/report/folded.js';
import { sampleProfile } from '../helpers/profiles.js';

test('one sorted line per stack, root first, with the chosen value', (t) => {
  const profile = mallocStackProfile(sampleProfile());
  t.is(renderFolded(profile), 'main;load<std::vector<int>&> 94208\nmain;parse:args 168\n');
  t.is(renderFolded(profile, 'allocs'), 'main;load<std::vector<int>&> 23\nmain;parse:args 7\n');
});

test('zero values are left out', (t) => {
  t.is(renderFolded(mallocStackProfile(sampleProfile(), 'outstandingBytes')), 'main;load<std::vector<int>&> 28672\n');
});

test('equal stacks merge and whitespace in names collapses', (t) => {
  const frames = [{ name: 'a\nb  c' }, { name: 'leaf' }];
  t.is(
    renderFolded({
      valueTypes: [{ name: 'n', unit: 'count' }],
      defaultValue: 'n',
      samples: [
        { frames, values: { n: 2 } },
        { frames, values: { n: 3 } },
      ],
    }),
    'a b c;leaf 5\n',
  );
});

test('an empty profile renders nothing', (t) => {
  t.is(renderFolded({ valueTypes: [], defaultValue: 'n', samples: [] }), '');
});

// renderFoldedTrie streams from the reader's trie; it must give renderFolded's text exactly.
function trieOf(stacks: Array<[Array<string | [string, string]>, number]>): StackTrie {
  const frames = new FrameTable();
  const trie = new StackTrie(frames);
  for (const [names, value] of stacks) {
    const ids = Int32Array.from(names, (name) => (typeof name === 'string' ? frames.intern(name) : frames.intern(name[0], name[1])));
    trie.add(trie.path(ids, ids.length), value);
  }
  return trie;
}

const sameAsRenderFolded = test.macro((t, stacks: Array<[Array<string | [string, string]>, number]>) => {
  const trie = trieOf(stacks);
  const expected = renderFolded({ valueTypes: [{ name: 'n', unit: 'count' }], defaultValue: 'n', samples: trie.samples('n') });
  t.is([...renderFoldedTrie(trie)].join(''), expected);
  t.not(expected, '');
});

test('trie: a stack ending at c sorts before c2, and c2 before c;x', sameAsRenderFolded, [
  [['a', 'c', 'x'], 1],
  [['a', 'c2'], 2],
  [['a', 'c'], 3],
  [['a', 'b'], 4],
  [['a'], 5],
]);
test('trie: frames that differ by module, or fold to one name, merge', sameAsRenderFolded, [
  [['main', ['f', 'libc.so.6'], 'x'], 1],
  [['main', 'f', 'x'], 2],
  [['main', 'a;b'], 3],
  [['main', 'a:b'], 4],
  [['main', 'a\n b'], 5],
  [['main', ''], 6],
  [['main', '?'], 7],
]);
test('trie: an empty stack, zero totals and negative values', sameAsRenderFolded, [
  [[], 9],
  [['a', 'b'], 4],
  [['a', ['b', 'm']], -4],
  [['a'], -1],
  [['z'], 0],
]);

test('trie: random stacks give renderFolded text', (t) => {
  const names = fc.constantFrom('a', 'b', 'c', 'c2', 'c;', 'c ', 'ab', 'a b', '', 'é', 'Z');
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(fc.oneof(names, fc.tuple(names, fc.constantFrom('m1', 'm2'))), { maxLength: 6 }),
            fc.integer({ min: -3, max: 3 }),
          ),
          { maxLength: 40 },
        ),
        (stacks) => {
          const trie = trieOf(stacks);
          const expected = renderFolded({ valueTypes: [{ name: 'n', unit: 'count' }], defaultValue: 'n', samples: trie.samples('n') });
          return [...renderFoldedTrie(trie)].join('') === expected;
        },
      ),
    ),
  );
});
