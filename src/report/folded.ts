// FlameGraph's folded format: one line per distinct stack, `root;caller;leaf VALUE`, sorted by stack
// (byte order) so that output is deterministic and diffable. Frame names are made safe for the
// format: `;` (the separator) becomes `:`, and runs of whitespace (newlines included) become one
// space, so a line is always one stack.
import { frameLabel, type Frame, type StackProfile } from '../model/stack-profile.js';
import { ROOT, type StackTrie } from '../model/stack-trie.js';

const NEEDS_CLEANING = /[;\s]/;

export function foldedName(frame: Frame): string {
  const name = frameLabel(frame);
  if (name !== '' && !NEEDS_CLEANING.test(name)) return name;
  return name.replace(/;/g, ':').replace(/\s+/g, ' ').trim() || '?';
}

export function foldedStack(frames: readonly Frame[]): string {
  return frames.map(foldedName).join(';');
}

export function renderFolded(profile: StackProfile, value: string = profile.defaultValue): string {
  // Summed by folded line: that merges equal stacks (pprof's rule) and stacks whose frames differ
  // only by module, which the folded format does not show.
  const totals = new Map<string, number>();
  for (const sample of profile.samples) {
    const amount = sample.values[value] ?? 0;
    if (amount === 0) continue;
    const key = foldedStack(sample.frames);
    totals.set(key, (totals.get(key) ?? 0) + amount);
  }
  const keys = [...totals.keys()].filter((key) => totals.get(key) !== 0).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((key) => `${key} ${totals.get(key)}\n`).join('');
}

/** About how much text renderFoldedTrie hands over at a time. */
const CHUNK_CHARS = 1 << 16;

/** A branch of the trie at one folded name: the stacks ending there (their total), or going on. */
type FoldedItem = { name: string; end: true; total: number } | { name: string; end: false; nodes: number[] };

/**
 * The folded text of a trie's stacks, exactly what renderFolded gives for its samples, in chunks:
 * the output is never held whole, and no object is made per stack. The trie is walked depth first,
 * its children sorted by folded name; that gives byte order once two subtleties are kept: a stack
 * that ends at a frame (`a;c`) sorts before its siblings that extend the name (`a;c2`), whose
 * lines sort before the stacks going on through the frame (`a;c;x`, as "2" < ";"); so each
 * name is two items, its end and its way on, sorted apart. Frames whose folded names are equal
 * (names that differ by module, or by a `;`) are merged, as renderFolded sums equal lines.
 */
export function* renderFoldedTrie(trie: StackTrie): Generator<string> {
  const names = trie.frames.frames.map(foldedName);
  const foldIds = new Map<string, number>();
  const foldOf = Int32Array.from(names, (name) => {
    let id = foldIds.get(name);
    if (id === undefined) foldIds.set(name, (id = foldIds.size));
    return id;
  });
  let out = trie.value(ROOT) === 0 ? '' : ` ${trie.value(ROOT)}\n`;
  const levels: Array<{ items: FoldedItem[]; at: number; prefix: string }> = [];
  const descend = (nodes: number[], prefix: string): void => {
    // A chain of only children (most of a stack's frames) needs no sorting and no item.
    let node = nodes.length === 1 ? nodes[0]! : -1;
    while (node !== -1) {
      const only = trie.first(node);
      if (only === -1) return;
      if (trie.next(only) !== -1) break;
      const name = names[trie.frameOf(only)]!;
      const value = trie.value(only);
      if (value !== 0) out += `${prefix}${name} ${value}\n`;
      if (trie.first(only) === -1) return;
      prefix = `${prefix}${name};`;
      node = only;
    }
    levels.push({ items: foldedItems(trie, node === -1 ? nodes : [node], names, foldOf), at: 0, prefix });
  };
  descend([ROOT], '');
  while (levels.length > 0) {
    const level = levels[levels.length - 1]!;
    if (level.at === level.items.length) {
      levels.pop();
      continue;
    }
    const item = level.items[level.at++]!;
    if (item.end) out += `${level.prefix}${item.name} ${item.total}\n`;
    else descend(item.nodes, `${level.prefix}${item.name};`);
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out !== '') yield out;
}

/** The children of nodes (one folded path), by folded name, in the byte order of their lines. */
function foldedItems(trie: StackTrie, nodes: number[], names: string[], foldOf: Int32Array): FoldedItem[] {
  const byFold = new Map<number, { name: string; total: number; nodes: number[] }>();
  for (const node of nodes) {
    for (let child = trie.first(node); child !== -1; child = trie.next(child)) {
      const fold = foldOf[trie.frameOf(child)]!;
      let group = byFold.get(fold);
      if (group === undefined) byFold.set(fold, (group = { name: names[trie.frameOf(child)]!, total: 0, nodes: [] }));
      group.total += trie.value(child);
      if (trie.first(child) !== -1) group.nodes.push(child);
    }
  }
  const items: FoldedItem[] = [];
  for (const group of byFold.values()) {
    if (group.total !== 0) items.push({ name: group.name, end: true, total: group.total });
    if (group.nodes.length > 0) items.push({ name: group.name, end: false, nodes: group.nodes });
  }
  return items.sort(compareFoldedItems);
}

/** Byte order of what follows the common prefix: the name, then the end of the line or ";". */
function compareFoldedItems(a: FoldedItem, b: FoldedItem): number {
  if (a.name === b.name) return a.end === b.end ? 0 : a.end ? -1 : 1;
  const shorter = Math.min(a.name.length, b.name.length);
  for (let at = 0; at < shorter; at += 1) {
    const difference = a.name.charCodeAt(at) - b.name.charCodeAt(at);
    if (difference !== 0) return difference;
  }
  // One name begins the other: the shorter one's next character is its end (before any) or ";".
  if (a.name.length < b.name.length) return (a.end ? -1 : 0x3b) - b.name.charCodeAt(shorter);
  return a.name.charCodeAt(shorter) - (b.end ? -1 : 0x3b);
}
