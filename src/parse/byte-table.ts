// Byte strings seen so far (the frame lines of a map dump), each given an id, found again by their
// bytes without making a string: an open-addressing table of typed arrays over one growing store
// of the bytes, so a line costs its bytes and 12 bytes of table, not a Buffer and an object.
import { grownArray } from '../model/stack-trie.js';

export class ByteTable {
  /** Per slot: the hash and the id + 1 (0: empty); at most half full. */
  private hashes: Int32Array = new Int32Array(1 << 12);
  private slots: Int32Array = new Int32Array(1 << 12);
  /** Per id: where its bytes start in the store, and how many. */
  private starts: Int32Array = new Int32Array(1 << 11);
  private lengths: Int32Array = new Int32Array(1 << 11);
  private store = Buffer.allocUnsafe(1 << 16);
  private storeView = new DataView(this.store.buffer, this.store.byteOffset, this.store.length);
  private stored = 0;
  size = 0;

  /** The id of buffer[start, end) (`view` is a DataView of buffer), whose hashWords is `hash`, or -1. */
  find(buffer: Buffer, view: DataView, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    const length = end - start;
    const store = this.store;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]! - 1;
      if (id === -1) return -1;
      if (this.hashes[slot] !== hash || this.lengths[id] !== length) continue;
      // Compared in JavaScript, 4 bytes at a time: for lines this short, cheaper than Buffer.compare.
      let at = this.starts[id]!;
      let index = start;
      const storeView = this.storeView;
      while (index + 4 <= end && storeView.getInt32(at, true) === view.getInt32(index, true)) {
        at += 4;
        index += 4;
      }
      while (index < end && store[at] === buffer[index]) {
        at += 1;
        index += 1;
      }
      if (index === end) return id;
    }
  }

  /** Adds buffer[start, end) (not present: find said -1); returns its id. */
  add(buffer: Buffer, start: number, end: number, hash: number): number {
    const length = end - start;
    if (this.stored + length > this.store.length) {
      const store = Buffer.allocUnsafe(Math.max(this.store.length * 2, this.stored + length));
      this.store.copy(store, 0, 0, this.stored);
      this.store = store;
      this.storeView = new DataView(store.buffer, store.byteOffset, store.length);
    }
    if (this.size === this.starts.length) {
      this.starts = grownArray(this.starts, new Int32Array(this.starts.length * 2));
      this.lengths = grownArray(this.lengths, new Int32Array(this.lengths.length * 2));
    }
    const id = this.size;
    buffer.copy(this.store, this.stored, start, end);
    this.starts[id] = this.stored;
    this.lengths[id] = length;
    this.stored += length;
    this.size += 1;
    this.place(id, hash);
    if (this.size * 2 > this.slots.length) this.rehash();
    return id;
  }

  /** The text of an id's bytes. */
  text(id: number): string {
    return this.store.toString('utf8', this.starts[id]!, this.starts[id]! + this.lengths[id]!);
  }

  private place(id: number, hash: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = id + 1;
    this.hashes[slot] = hash;
  }

  private rehash(): void {
    const old = this.slots;
    const oldHashes = this.hashes;
    this.slots = new Int32Array(old.length * 2);
    this.hashes = new Int32Array(old.length * 2);
    for (let slot = 0; slot < old.length; slot += 1) if (old[slot] !== 0) this.place(old[slot]! - 1, oldHashes[slot]!);
  }
}

/**
 * The hash find and add take: FNV-1a's steps over buffer[start, end) read 4 bytes at a time (a
 * last partial word masked), through `view`, a DataView of buffer. A word at a time, not a byte:
 * hashing and comparing are most of the cost of reading a dump of distinct stacks.
 */
export function hashWords(buffer: Buffer, view: DataView, start: number, end: number): number {
  let hash = 0x811c9dc5;
  let at = start;
  for (; at + 4 <= end; at += 4) hash = Math.imul(hash ^ view.getInt32(at, true), 0x01000193);
  if (at < end) {
    let word = 0;
    for (let shift = 0; at < end; at += 1, shift += 8) word |= buffer[at]! << shift;
    hash = Math.imul(hash ^ word, 0x01000193);
  }
  return mix(hash);
}

/**
 * A word's last bytes reach only the high bits of a product: mixed down (murmur3's finalizer), or
 * lines differing in their last characters (call-site offsets) would crowd the table's slots.
 */
function mix(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  return hash ^ (hash >>> 13);
}

/**
 * Where the line starting at `start` ends (its newline, which must come before buffer.length), and
 * its hashWords, found in one pass of 4-byte words: a word holds a newline when (word ^ 0x0a0a0a0a)
 * has a zero byte, which the lowest bit of (x - 0x01010101) & ~x & 0x80808080 marks exactly.
 * Returns the newline's index; the hash is left in LINE_HASH[0].
 */
export function scanLine(buffer: Buffer, view: DataView, start: number): number {
  let hash = 0x811c9dc5;
  let at = start;
  const wordsEnd = buffer.length - 4;
  for (; at <= wordsEnd; at += 4) {
    const word = view.getInt32(at, true);
    const x = word ^ 0x0a0a0a0a;
    // Kept in int32 range (| 0), so that the loop stays in integer arithmetic.
    const newlines = ((x - 0x01010101) | 0) & ~x & HIGH_BITS;
    if (newlines !== 0) {
      const bytes = (31 - Math.clz32(newlines & (-newlines | 0))) >> 3;
      if (bytes > 0) hash = Math.imul(hash ^ (word & (0xffffffff >>> (32 - 8 * bytes))), 0x01000193);
      LINE_HASH[0] = mix(hash);
      return at + bytes;
    }
    hash = Math.imul(hash ^ word, 0x01000193);
  }
  // The buffer's last bytes: the rest of the line a byte at a time.
  const newline = buffer.indexOf(0x0a, at);
  LINE_HASH[0] = hashWords(buffer, view, start, newline);
  return newline;
}

const HIGH_BITS = 0x80808080 | 0;

/** scanLine's second result (a module-level cell: no object made per line). */
export const LINE_HASH = new Int32Array(1);
