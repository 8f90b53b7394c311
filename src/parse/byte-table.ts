// Byte strings seen so far (the frame lines of a map dump), each given an id, found again by their
// bytes without making a string: an open-addressing table of typed arrays over one growing store
// of the bytes, so a line costs its bytes and 12 bytes of table, not a Buffer and an object.

export class ByteTable {
  /** Per slot: the hash and the id + 1 (0: empty); at most half full. */
  private hashes: Int32Array = new Int32Array(1 << 12);
  private slots: Int32Array = new Int32Array(1 << 12);
  /** Per id: where its bytes start in the store, and how many. */
  private starts: Int32Array = new Int32Array(1 << 11);
  private lengths: Int32Array = new Int32Array(1 << 11);
  private store = Buffer.allocUnsafe(1 << 16);
  private stored = 0;
  size = 0;

  /** The id of buffer[start, end), whose FNV-1a hash is `hash`, or -1. */
  find(buffer: Buffer, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    const length = end - start;
    const store = this.store;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]! - 1;
      if (id === -1) return -1;
      if (this.hashes[slot] !== hash || this.lengths[id] !== length) continue;
      // Compared in JavaScript: for lines this short, cheaper than a call into Buffer.compare.
      let at = this.starts[id]!;
      let index = start;
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
    }
    if (this.size === this.starts.length) {
      this.starts = grown(this.starts);
      this.lengths = grown(this.lengths);
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

/** FNV-1a over every byte of buffer[start, end): the hash find and add take. */
export function hashAll(buffer: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let at = start; at < end; at += 1) hash = Math.imul(hash ^ buffer[at]!, 0x01000193);
  return hash;
}

function grown(old: Int32Array): Int32Array {
  const bigger = new Int32Array(old.length * 2);
  bigger.set(old);
  return bigger;
}
