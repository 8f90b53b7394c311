// A compact store of many stacks: frames interned once (a frame → id table, pprof's string-table
// idea), stacks merged in a trie of frame ids held in typed arrays. A reader of a large map dump
// (hundreds of thousands of distinct stacks) adds each stack as a walk from the root, without an
// object per frame or per stack; reports read the trie (folded output streams from it, see
// report/folded.ts) or build a StackProfile from it when they need one.
//
// Memory: one node per distinct root-first prefix, 28 bytes (parent and frame ids, a value, the
// child found last, and a slot of the index by (parent, frame) at most half full), plus the frames themselves (their name
// strings). Stacks that share their roots (all of them, in a real program) share nodes.
import type { Frame, StackSample } from './stack-profile.js';

/** Frames by identity (name and module), each given an id; equal frames are one object. */
export class FrameTable {
  private readonly ids = new Map<string, number>();
  readonly frames: Frame[] = [];

  intern(name: string, module?: string): number {
    const key = module === undefined ? name : `${name}\u0000${module}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(module === undefined ? { name } : { name, module });
      this.ids.set(key, id);
    }
    return id;
  }
}

/** The root's id: the node of the empty stack. */
export const ROOT = 0;

export class StackTrie {
  /** Per node: its parent, its frame's id (-1 for the root), the value of the stacks ending there. */
  private parents: Int32Array = new Int32Array(1024);
  private frameIds: Int32Array = new Int32Array(1024);
  private values: Float64Array = new Float64Array(1024);
  /** The child child() returned last for each node (0: none yet; the root is no one's child). */
  private recentChild: Int32Array = new Int32Array(1024);
  size = 1;
  /** Open addressing by (parent, frame): node id + 1, 0 for an empty slot; null once frozen. */
  private index: Int32Array | null = new Int32Array(2048);
  /** Child lists in creation order (built on demand for readers, dropped when a node is added). */
  private firstChild: Int32Array | null = null;
  /** The frames and nodes of the stack path() was given last. */
  private lastFrames: Int32Array = new Int32Array(128);
  private lastNodes: Int32Array = new Int32Array(128);
  private lastCount = 0;
  private nextSibling: Int32Array | null = null;

  constructor(readonly frames: FrameTable) {
    this.parents[ROOT] = -1;
    this.frameIds[ROOT] = -1;
  }

  /** The node of `frame` called from `node`, made if new. */
  child(node: number, frame: number): number {
    // The child found last under this node, tried first: stacks that branch off at a node tend to
    // go on alike (recursion, a caller's several calls), and this skips the index's random access.
    const recent = this.recentChild[node]!;
    if (recent !== 0 && this.frameIds[recent] === frame) return recent;
    const found = this.lookup(node, frame);
    this.recentChild[node] = found;
    return found;
  }

  private lookup(node: number, frame: number): number {
    let index = this.index;
    if (index === null) index = this.rebuildIndex();
    const mask = index.length - 1;
    for (let slot = hashPair(node, frame) & mask; ; slot = (slot + 1) & mask) {
      const found = index[slot]! - 1;
      if (found === -1) {
        const made = this.make(node, frame);
        if (this.size * 2 > index.length) this.rebuildIndex();
        else index[slot] = made + 1;
        return made;
      }
      if (this.parents[found] === node && this.frameIds[found] === frame) return found;
    }
  }

  /**
   * The node of a whole stack, frames[0, count) root first, made if new. The path of the stack
   * before is kept: the frames this one shares with it from the root (often most of them: a dump
   * prints stacks of one caller together) are followed without a lookup.
   */
  path(frames: Int32Array, count: number): number {
    if (count > this.lastFrames.length) {
      this.lastFrames = grownArray(this.lastFrames, new Int32Array(count * 2));
      this.lastNodes = grownArray(this.lastNodes, new Int32Array(count * 2));
    }
    const lastFrames = this.lastFrames;
    const lastNodes = this.lastNodes;
    const shared = Math.min(count, this.lastCount);
    let depth = 0;
    while (depth < shared && lastFrames[depth] === frames[depth]) depth += 1;
    let node = depth === 0 ? ROOT : lastNodes[depth - 1]!;
    for (; depth < count; depth += 1) {
      node = this.child(node, frames[depth]!);
      lastFrames[depth] = frames[depth]!;
      lastNodes[depth] = node;
    }
    this.lastCount = count;
    return node;
  }

  /** Counts `amount` for the stack that ends at `node`. */
  add(node: number, amount: number): void {
    this.values[node] += amount;
  }

  value(node: number): number {
    return this.values[node]!;
  }

  frameOf(node: number): number {
    return this.frameIds[node]!;
  }

  /** Drops the index (half the trie's memory) once no stack will be added; child() rebuilds it. */
  freeze(): void {
    this.index = null;
  }

  /** The first child of a node (in creation order), or -1. */
  first(node: number): number {
    if (this.firstChild === null) this.linkChildren();
    return this.firstChild![node]!;
  }

  /** The next child of the same parent, or -1. */
  next(node: number): number {
    if (this.nextSibling === null) this.linkChildren();
    return this.nextSibling![node]!;
  }

  /** Every stack with a value, root first, in the order their nodes were made (depth first). */
  samples(valueName: string): StackSample[] {
    const samples: StackSample[] = [];
    const frames = this.frames.frames;
    const path: Frame[] = [];
    // Depth first without recursion: a stack of 127 frames (bpftrace's limit) or more is fine.
    const pending: number[] = [ROOT];
    const depths: number[] = [0];
    while (pending.length > 0) {
      const node = pending.pop()!;
      const depth = depths.pop()!;
      path.length = depth;
      if (node !== ROOT) path.push(frames[this.frameIds[node]!]!);
      // The root holds entries whose keys had no frames at all (empty stacks, no plain parts).
      if (this.values[node] !== 0) samples.push({ frames: [...path], values: { [valueName]: this.values[node]! } });
      const children: number[] = [];
      for (let child = this.first(node); child !== -1; child = this.next(child)) children.push(child);
      for (let at = children.length - 1; at >= 0; at -= 1) {
        pending.push(children[at]!);
        depths.push(path.length);
      }
    }
    return samples;
  }

  private make(parent: number, frame: number): number {
    if (this.size === this.parents.length) {
      const capacity = this.size * 2;
      this.parents = grownArray(this.parents, new Int32Array(capacity));
      this.frameIds = grownArray(this.frameIds, new Int32Array(capacity));
      this.values = grownArray(this.values, new Float64Array(capacity));
      this.recentChild = grownArray(this.recentChild, new Int32Array(capacity));
    }
    const node = this.size;
    this.parents[node] = parent;
    this.frameIds[node] = frame;
    this.size += 1;
    this.firstChild = null;
    this.nextSibling = null;
    return node;
  }

  private rebuildIndex(): Int32Array {
    let capacity = 2048;
    while (capacity < this.size * 2 + 2) capacity *= 2;
    const index = new Int32Array(capacity);
    const mask = capacity - 1;
    for (let node = 1; node < this.size; node += 1) {
      let slot = hashPair(this.parents[node]!, this.frameIds[node]!) & mask;
      while (index[slot] !== 0) slot = (slot + 1) & mask;
      index[slot] = node + 1;
    }
    this.index = index;
    return index;
  }

  /** Children in creation order: a child's id is larger than its parent's, and siblings' ids rise. */
  private linkChildren(): void {
    const first = new Int32Array(this.size).fill(-1);
    const next = new Int32Array(this.size).fill(-1);
    for (let node = this.size - 1; node > ROOT; node -= 1) {
      const parent = this.parents[node]!;
      next[node] = first[parent]!;
      first[parent] = node;
    }
    this.firstChild = first;
    this.nextSibling = next;
  }
}

function hashPair(parent: number, frame: number): number {
  let hash = Math.imul(parent, 0x9e3779b1) ^ frame;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  return hash ^ (hash >>> 13);
}

/** `bigger` with old's values at its start: how the typed arrays of a store grow. */
export function grownArray<T extends Int32Array | Float64Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}
