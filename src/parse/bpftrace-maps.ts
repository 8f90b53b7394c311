// Reads any bpftrace map dump keyed by stacks — what `bpftrace -e '… { @[ustack] = count(); }'`
// prints at exit, in text or `-f json` form — into one StackProfile per stack map, plus its
// histograms. Reference: bpftrace 0.17's src/output.cpp (TextOutput, JsonOutput); the line shapes
// are those of BpftraceOutputReader (bpftrace-output.ts), which this reader drives:
//   Attaching 2 probes...
//   @[comm, 
//       __GI___libc_malloc+0
//       make_alpha+27
//   ]: 23
//   @sizes: 
//   [32, 64)              23 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   {"type": "map", "data": {"@": {"\n    __GI___libc_malloc+0\n    make_alpha+27\n": 23}}}
//
// How a key becomes a root-first stack (docs/formats/bpftrace-maps.md): the plain parts of the key
// (comm, pid, arg0…) first, in key order, as root frames (FlameGraph's habit of a process-name root);
// then the key's stacks in reverse key order, each root first, so that `@[kstack, ustack]` puts the
// kernel frames above the user frames. Frame names drop bpftrace's `+offset` (the call site), as
// memtrace's malloc reports do; unnamed frames keep their address (`0x7f5c9926d930`).
//
// Speed: a map dump of a long trace runs to hundreds of MB, nearly all of it frame lines. The file is
// read in Buffer chunks. Inside a stack key, the frame lines up to the line that closes or continues
// the key (`]…` or `,…`, found with Buffer.indexOf) are taken as one run of bytes: a stack printed
// before is found again by a hash of those bytes and a byte comparison, its frames (and, per map,
// its node in the profile) already known, with no string made. A new stack's lines are looked up
// one by one, by their bytes, in a table of the frame lines seen; only a new line becomes a string
// and is parsed. `@name[` and `]: 123` are read from their bytes too. Stacks are merged in a trie of
// frames. Memory is bounded by the distinct frames and stacks, not by the file (the stack cache
// stops growing at STACK_TEXT_CACHE_BYTES, or when stacks do not repeat). Every other line goes to
// the line reader (BpftraceOutputReader) as a string. (docs/performance.md has the measurements.)
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { ParseError } from '../errors.js';
import type { Log2Bucket } from '../model/histogram.js';
import type { Frame, StackProfile, StackSample, ValueType } from '../model/stack-profile.js';
import { BpftraceOutputReader, MalformedLine, parseFrame, type BpftraceKey, type BpftraceRecord, type BpftraceValue, type PrintedFrame } from './bpftrace-output.js';

const FORMAT = 'bpftrace map output';

/** One map keyed by stacks, merged into a profile of one value type. */
export interface BpftraceStackMap {
  /** `@`, `@bytes`… */
  name: string;
  /** Entries printed for the map (before stacks that fold alike were merged). */
  entries: number;
  profile: StackProfile;
}

export interface BpftraceHistogramMap {
  name: string;
  /** hist() buckets are powers of two; lhist() buckets are linear. */
  kind: 'hist' | 'lhist';
  buckets: Log2Bucket[];
}

export interface BpftraceMaps {
  /** In the order the maps first appear in the file. */
  stackMaps: BpftraceStackMap[];
  histograms: BpftraceHistogramMap[];
  /** Maps without a stack: scalars (`@calls: 34`) and their text; keyed maps by their entry count. */
  otherMaps: Array<{ name: string; entries: number; text: string | null }>;
  /** Stack maps whose values are no integers (avg, stats, tuples): not profiled, named in the report. */
  unprofiledMaps: string[];
  attachedProbes: number | null;
  /** Sum of bpftrace's `Lost N events` notices, and how many notices there were. */
  lostEvents: number;
  lostNotices: number;
  /** Lines that are no map output (printf text, a launched target's own output). */
  textLines: number;
  /** Malformed lines skipped under --lenient. */
  badLines: number;
  /** The input ended inside a stack key (a run cut while bpftrace printed); counted under --lenient. */
  truncated: boolean;
}

export interface ReadBpftraceMapsOptions {
  lenient: boolean;
  /** Bytes read at a time (tests make it tiny to prove that chunk boundaries do not matter). */
  chunkBytes?: number;
}

/** Whether the head of a log is bpftrace output with maps (text or -f json). */
export function looksLikeBpftraceMaps(head: string): boolean {
  return /^(?:@[A-Za-z0-9_]*(?:\[|: )|Attaching \d+ probes?\.\.\.$|\{"type": ?"(?:map|hist|attached_probes)")/m.test(head);
}

export async function readBpftraceMaps(path: string, options: ReadBpftraceMapsOptions): Promise<BpftraceMaps> {
  const collector = new MapsCollector(path, options.lenient);
  const handle = await open(path, 'r');
  try {
    let buffer = Buffer.allocUnsafe(options.chunkBytes ?? 4 << 20);
    let kept = 0; // bytes of an unfinished line carried to the front of the buffer
    for (;;) {
      if (kept === buffer.length) {
        // One line longer than the buffer (a -f json map on one line): grow, keep reading.
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, kept);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, kept, buffer.length - kept, null);
      if (bytesRead === 0) break;
      const end = kept + bytesRead;
      const consumed = collector.lines(buffer, end);
      buffer.copy(buffer, 0, consumed, end);
      kept = end - consumed;
    }
    if (kept > 0) collector.rest(buffer, kept);
  } finally {
    await handle.close();
  }
  return collector.finish();
}

/** A trie of root-first frames: one node per distinct stack prefix, the value where a stack ends. */
interface TrieNode {
  frame: Frame | null;
  value: number;
  /** The first child, and a map of all of them once there are two (most nodes have one). */
  first: TrieNode | null;
  children: Map<Frame, TrieNode> | null;
}

interface StackMapState {
  name: string;
  entries: number;
  root: TrieNode;
  valueType: ValueType;
  profilable: boolean;
  /** The trie node of each cached stack's frames array counted in this map. */
  leaves: Map<PrintedFrame[], TrieNode>;
}

/** The frames of one stack's lines, how many lines they were, and the bytes they were read from. */
interface StackText {
  /** Where the stack's bytes were copied to: a slab of the cache, and the offset in it. */
  slab: Buffer;
  offset: number;
  length: number;
  frames: PrintedFrame[];
  lines: number;
  /** The trie node these frames reached in the map they were last counted in. */
  leafMap?: StackMapState;
  leaf?: TrieNode;
}

/** How much stack text the cache of stacks seen keeps; past it, new stacks are parsed each time. */
const STACK_TEXT_CACHE_BYTES = 64 * 2 ** 20;
const FRAME_LINE_CACHE_ENTRIES = 2 ** 20;
const MAX_SAME_HASH = 8;
const SLAB_BYTES = 4 * 2 ** 20;
/** After this many lookups, the cache stops growing if fewer than 1 in 20 found a stack. */
const CACHE_TRIAL = 20_000;

/** Frame lines seen so far, found again by a hash of their bytes: an open-addressing table. */
class FrameLineTable {
  private hashes = new Int32Array(1 << 12);
  private slots: Array<{ bytes: Buffer; frame: PrintedFrame } | undefined> = new Array(1 << 12);
  size = 0;

  find(buffer: Buffer, start: number, end: number, hash: number): PrintedFrame | undefined {
    const mask = this.hashes.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot];
      if (entry === undefined) return undefined;
      if (this.hashes[slot] !== hash || entry.bytes.length !== end - start) continue;
      // Compared in JavaScript: for lines this short, cheaper than a call into Buffer.compare.
      const bytes = entry.bytes;
      let index = 0;
      while (index < bytes.length && bytes[index] === buffer[start + index]) index += 1;
      if (index === bytes.length) return entry.frame;
    }
  }

  add(buffer: Buffer, start: number, end: number, hash: number, frame: PrintedFrame): void {
    if ((this.size + 1) * 2 > this.hashes.length) this.grow();
    this.place({ bytes: Buffer.from(buffer.subarray(start, end)), frame }, hash);
    this.size += 1;
  }

  private place(entry: { bytes: Buffer; frame: PrintedFrame }, hash: number): void {
    const mask = this.hashes.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== undefined) slot = (slot + 1) & mask;
    this.slots[slot] = entry;
    this.hashes[slot] = hash;
  }

  private grow(): void {
    const old = this.slots;
    const oldHashes = this.hashes;
    this.hashes = new Int32Array(oldHashes.length * 2);
    this.slots = new Array(oldHashes.length * 2);
    for (let slot = 0; slot < old.length; slot += 1) {
      const entry = old[slot];
      if (entry !== undefined) this.place(entry, oldHashes[slot]!);
    }
  }
}

class MapsCollector {
  private readonly reader = new BpftraceOutputReader();
  /** Stacks seen, by a hash of their lines' bytes (then compared byte for byte); capped at STACK_TEXT_CACHE_BYTES. */
  private readonly stackTexts = new Map<number, StackText | StackText[]>();
  private stackTextBytes = 0;
  /** Frame line → its frame (interned: equal lines give the same object), by the line's bytes. */
  private readonly frameLines = new FrameLineTable();
  /** Root-first model frames of a stack's frames array (arrays come from stackTexts, so repeat). */
  private readonly rootFirst = new WeakMap<PrintedFrame[], Frame[]>();
  /** Where the next close and continue lines are in the current buffer (-1: none; -2: not looked). */
  private nextClose = -2;
  private slab: Buffer | null = null;
  private slabUsed = 0;
  /** Stacks looked up in the cache, and found: a dump of stacks that never repeat stops filling it. */
  private stackLookups = 0;
  private stackHits = 0;
  /** The stack read last from (or just put in) the stack cache. */
  private lastStack: StackText | null = null;
  private nextContinue = -2;
  /** Printed frame → the model frame it names (offset dropped, module's base name). */
  private readonly modelOfPrinted = new Map<PrintedFrame, Frame>();
  private readonly modelFrames = new Map<string, Frame>();
  private readonly stackMaps = new Map<string, StackMapState>();
  private readonly result: BpftraceMaps = {
    stackMaps: [],
    histograms: [],
    otherMaps: [],
    unprofiledMaps: [],
    attachedProbes: null,
    lostEvents: 0,
    lostNotices: 0,
    textLines: 0,
    badLines: 0,
    truncated: false,
  };
  private lineNumber = 0;

  constructor(
    private readonly path: string,
    private readonly lenient: boolean,
  ) {}

  /** Handles every complete line of buffer[0, end); returns where the unfinished last line starts. */
  lines(buffer: Buffer, end: number): number {
    this.nextClose = -2;
    this.nextContinue = -2;
    let start = 0;
    while (start < end) {
      if (this.reader.inStackKey && (buffer[start] === 0x20 || buffer[start] === 0x09)) {
        // The hot path: the frame lines of a stack, up to the line that closes or continues its key.
        const stop = this.stackEnd(buffer, start, end);
        if (stop === -1) return start;
        this.stack(buffer, start, stop);
        start = stop + 1;
        continue;
      }
      const first = buffer[start];
      if (first === 0x40 || first === 0x5d) {
        // `@name[` and `]: 123`, the lines around every stack, read from their bytes.
        const next = first === 0x40 ? this.openLine(buffer, start, end) : this.closeLine(buffer, start, end);
        if (next !== -1) {
          start = next;
          continue;
        }
      }
      const newline = buffer.indexOf(0x0a, start);
      if (newline === -1 || newline >= end) return start;
      this.lineNumber += 1;
      this.line(buffer.toString('utf8', start, newline > start && buffer[newline - 1] === 0x0d ? newline - 1 : newline));
      start = newline + 1;
    }
    return start;
  }

  /** `@name[` (a map name, then "[" ending the line): opens a stack key; returns the next line's start, or -1. */
  private openLine(buffer: Buffer, start: number, end: number): number {
    let at = start + 1;
    for (let byte = buffer[at]; at < end && byte !== undefined && isNameByte(byte); byte = buffer[++at]);
    if (at + 1 >= end || buffer[at] !== 0x5b || buffer[at + 1] !== 0x0a) return -1;
    if (!this.reader.openStackKey(at === start + 1 ? '@' : buffer.toString('latin1', start, at))) return -1;
    this.lineNumber += 1;
    return at + 2;
  }

  /** `]: 123` inside a stack key (a count or sum): closes it; returns the next line's start, or -1. */
  private closeLine(buffer: Buffer, start: number, end: number): number {
    if (!this.reader.inStackKey || start + 3 >= end || buffer[start + 1] !== 0x3a || buffer[start + 2] !== 0x20) return -1;
    let at = start + 3;
    let value = 0;
    // Up to 15 digits: exact in a double; longer (and negative) values take the general path.
    for (let byte = buffer[at]!; at < end && byte >= 0x30 && byte <= 0x39 && at - start < 18; byte = buffer[++at]!) value = value * 10 + (byte - 0x30);
    if (at === start + 3 || at >= end || buffer[at] !== 0x0a) return -1;
    this.lineNumber += 1;
    const stackOnly = this.reader.closeStackOnlyKey();
    if (stackOnly !== null) {
      this.stackEntry(this.stackMap(stackOnly.name), stackOnly.frames, value);
      return at + 1;
    }
    const record = this.reader.closeStackKey(value);
    try {
      this.record(record);
    } catch (error) {
      this.malformed(error, buffer.toString('utf8', start, at));
    }
    return at + 1;
  }

  /** The newline before the next line starting with "]" or ",", or -1 when it is not in buffer[, end). */
  private stackEnd(buffer: Buffer, start: number, end: number): number {
    // Each search is remembered, so that a buffer is scanned once for each kind, not once per stack.
    if (this.nextClose !== -1 && this.nextClose < start) this.nextClose = lineStartingWith(buffer, 0x5d, start);
    if (this.nextContinue !== -1 && this.nextContinue < start) this.nextContinue = lineStartingWith(buffer, 0x2c, start);
    const close = this.nextClose >= end - 1 ? -1 : this.nextClose;
    const more = this.nextContinue >= end - 1 ? -1 : this.nextContinue;
    return close === -1 ? more : more === -1 ? close : Math.min(close, more);
  }

  /** The frame lines buffer[start, stop): a stack seen before is found by its bytes, without a string. */
  private stack(buffer: Buffer, start: number, stop: number): void {
    const hash = hashBytes(buffer, start, stop);
    const found = this.stackTexts.get(hash);
    this.stackLookups += 1;
    if (found !== undefined) {
      const known = Array.isArray(found) ? this.match(found, buffer, start, stop) : sameBytes(found, buffer, start, stop) ? found : undefined;
      if (known !== undefined) {
        this.stackHits += 1;
        this.lineNumber += known.lines;
        this.reader.pushFrames(known.frames);
        this.lastStack = known;
        return;
      }
    }
    this.lastStack = null;
    const parsed = this.stackLines(buffer, start, stop);
    // Stacks whose hashes collide share a short list; past MAX_SAME_HASH they are parsed each time,
    // so that a file of look-alike stacks cannot make every lookup a long search.
    const chained = found === undefined ? 0 : Array.isArray(found) ? found.length : 1;
    const worthIt = this.stackLookups < CACHE_TRIAL || this.stackHits * 20 >= this.stackLookups;
    if (parsed !== null && worthIt && this.stackTextBytes < STACK_TEXT_CACHE_BYTES && chained < MAX_SAME_HASH) {
      const copied = this.copyBytes(buffer, start, stop);
      const entry: StackText = { slab: copied.slab, offset: copied.offset, length: copied.length, frames: parsed.frames, lines: parsed.lines, leafMap: undefined, leaf: undefined };
      this.stackTexts.set(hash, found === undefined ? entry : Array.isArray(found) ? [...found, entry] : [found, entry]);
      this.lastStack = entry;
      this.stackTextBytes += stop - start;
    }
  }

  /** Copies a stack's bytes into the cache's slabs (one allocation per slab, not per stack). */
  private copyBytes(buffer: Buffer, start: number, stop: number): { slab: Buffer; offset: number; length: number } {
    const length = stop - start;
    if (this.slab === null || this.slabUsed + length > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, length));
      this.slabUsed = 0;
    }
    buffer.copy(this.slab, this.slabUsed, start, stop);
    const copied = { slab: this.slab, offset: this.slabUsed, length };
    this.slabUsed += length;
    return copied;
  }

  private match(candidates: StackText[], buffer: Buffer, start: number, stop: number): StackText | undefined {
    for (const known of candidates) if (sameBytes(known, buffer, start, stop)) return known;
    return undefined;
  }

  /**
   * Parses a new stack's lines, buffer[start, stop), and hands its frames on; returns them unless
   * a line was skipped. A frame line seen before (in any stack) is found by its bytes.
   */
  private stackLines(buffer: Buffer, start: number, stop: number): { frames: PrintedFrame[]; lines: number } | null {
    const frames: PrintedFrame[] = [];
    let good = true;
    let lines = 0;
    for (let lineStart = start; lineStart <= stop; ) {
      let hash = 0x811c9dc5;
      let at = lineStart;
      for (let byte = buffer[at]!; at < stop && byte !== 0x0a; byte = buffer[++at]!) hash = Math.imul(hash ^ byte, 0x01000193);
      const lineEnd = at > lineStart && buffer[at - 1] === 0x0d ? at - 1 : at;
      if (lineEnd !== at) hash = hashAll(buffer, lineStart, lineEnd);
      lines += 1;
      this.lineNumber += 1;
      let frame = this.frameLines.find(buffer, lineStart, lineEnd, hash);
      if (frame === undefined) {
        const text = buffer.toString('utf8', lineStart, lineEnd);
        try {
          frame = parseFrame(text);
        } catch (error) {
          this.malformed(error, text);
          good = false;
        }
        if (frame !== undefined && this.frameLines.size < FRAME_LINE_CACHE_ENTRIES) this.frameLines.add(buffer, lineStart, lineEnd, hash, frame);
      }
      if (frame !== undefined) frames.push(frame);
      lineStart = at + 1;
    }
    this.reader.pushFrames(frames);
    // A stack with a skipped line (--lenient) is not cached: its line count would be wrong.
    return good ? { frames, lines } : null;
  }

  /** What is left at the end of the file: a last line without a newline, or a stack cut short. */
  rest(buffer: Buffer, end: number): void {
    const text = buffer.toString('utf8', 0, end);
    for (const line of (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n')) {
      this.lineNumber += 1;
      this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }

  finish(): BpftraceMaps {
    try {
      for (const record of this.reader.finish()) this.record(record);
    } catch (error) {
      if (!(error instanceof MalformedLine)) throw error;
      if (!this.lenient) {
        throw new ParseError({ file: this.path, lineNumber: this.lineNumber, format: FORMAT, expected: `${error.expected} (a run cut while bpftrace printed? --lenient reports the rest)` });
      }
      this.result.truncated = true;
    }
    for (const map of this.stackMaps.values()) {
      if (!map.profilable) continue;
      this.result.stackMaps.push({ name: map.name, entries: map.entries, profile: { valueTypes: [map.valueType], defaultValue: map.valueType.name, samples: samplesOf(map.root, map.valueType.name) } });
    }
    const result = this.result;
    if (result.stackMaps.length === 0 && result.histograms.length === 0 && result.otherMaps.length === 0 && result.unprofiledMaps.length === 0 && result.badLines === 0 && !result.truncated) {
      throw new ParseError({ file: this.path, lineNumber: Math.max(1, this.lineNumber), format: FORMAT, expected: 'at least one map (@name…); bpftrace printed none' });
    }
    return result;
  }

  private line(text: string): void {
    let records: BpftraceRecord[];
    try {
      records = this.reader.push(text);
    } catch (error) {
      this.malformed(error, text);
      return;
    }
    for (const record of records) {
      try {
        this.record(record);
      } catch (error) {
        this.malformed(error, text);
      }
    }
  }

  private malformed(error: unknown, line: string): void {
    if (!(error instanceof MalformedLine)) throw error;
    if (!this.lenient) throw new ParseError({ file: this.path, lineNumber: this.lineNumber, format: FORMAT, expected: error.expected, line });
    this.result.badLines += 1;
  }

  private record(record: BpftraceRecord): void {
    switch (record.type) {
      case 'attached':
        this.result.attachedProbes = record.probes;
        return;
      case 'lost':
        this.result.lostEvents += record.events;
        this.result.lostNotices += 1;
        return;
      case 'printf':
      case 'text':
        this.result.textLines += 1;
        return;
      case 'other':
        // -f json's stats and avg maps arrive as "stats"; time and others are not maps.
        if (record.jsonType === 'stats' && typeof record.data === 'object' && record.data !== null) {
          for (const [name, value] of Object.entries(record.data)) this.result.otherMaps.push({ name, entries: 1, text: JSON.stringify(value) });
        } else {
          this.result.textLines += 1;
        }
        return;
      case 'hist':
        this.result.histograms.push({ name: record.name, kind: histKind(record.buckets), buckets: record.buckets });
        return;
      case 'map':
        for (const entry of record.entries) this.entry(record.name, entry.key, entry.value);
    }
  }

  private entry(name: string, key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    if (key.kind === 'none' || key.kind === 'values') {
      this.otherEntry(name, key.kind === 'none' ? (Array.isArray(value) ? `(${value.join(', ')})` : String(value)) : null);
      return;
    }
    const map = this.stackMap(name);
    if (key.kind === 'stack' && typeof value === 'number') {
      this.stackEntry(map, key.frames, value);
      return;
    }
    map.entries += 1;
    if (typeof value !== 'number') {
      if (map.profilable) this.result.unprofiledMaps.push(name);
      map.profilable = false;
      return;
    }
    if (key.kind === 'stack') return; // (handled above; narrows the type)
    let node = map.root;
    const parts = key.parts;
    for (const part of parts) if (part.kind === 'value') node = child(node, this.modelFrame(part.text, undefined));
    // The stacks in reverse key order: the last (ustack in `@[kstack, ustack]`) nearest the root.
    for (let stack = parts.length - 1; stack >= 0; stack -= 1) {
      const part = parts[stack]!;
      if (part.kind === 'stack') node = this.walk(node, this.rootFirstFrames(part.frames));
    }
    node.value += value;
  }

  /** The common `@[ustack]` entry: a stack seen before has its trie node remembered, per map. */
  private stackEntry(map: StackMapState, frames: PrintedFrame[], value: number): void {
    map.entries += 1;
    if (!map.profilable) return;
    // The stack just read from the cache is most likely this one: its node is kept with it.
    const cached = this.lastStack;
    let leaf: TrieNode | undefined;
    if (cached !== null && cached.frames === frames && cached.leafMap === map) leaf = cached.leaf!;
    else if (cached !== null && cached.frames === frames) {
      // A cached stack counted in another map before (or for the first time): per-map nodes.
      leaf = map.leaves.get(frames);
      if (leaf === undefined) {
        leaf = this.walk(map.root, this.rootFirstFrames(frames));
        map.leaves.set(frames, leaf);
      }
      cached.leafMap = map;
      cached.leaf = leaf;
    } else {
      // Frames no cache holds (json keys, stacks past the cache's limits): fresh arrays, walked
      // and not remembered, so that memory follows the distinct stacks, not the entries.
      leaf = this.walk(map.root, this.rootFirstFrames(frames));
    }
    leaf.value += value;
  }

  private walk(node: TrieNode, frames: readonly Frame[]): TrieNode {
    for (const frame of frames) node = child(node, frame);
    return node;
  }

  /** Printed frames are leaf first; the profile is root first. */
  private rootFirstFrames(printed: PrintedFrame[]): Frame[] {
    let frames = this.rootFirst.get(printed);
    if (frames === undefined) {
      frames = [];
      for (let index = printed.length - 1; index >= 0; index -= 1) frames.push(this.frameOf(printed[index]!));
      this.rootFirst.set(printed, frames);
    }
    return frames;
  }

  private otherEntry(name: string, text: string | null): void {
    const last = this.result.otherMaps.at(-1);
    if (last !== undefined && last.name === name && text === null) {
      last.entries += 1;
      return;
    }
    this.result.otherMaps.push({ name, entries: 1, text });
  }

  private stackMap(name: string): StackMapState {
    let map = this.stackMaps.get(name);
    if (map === undefined) {
      map = { name, entries: 0, root: { frame: null, value: 0, first: null, children: null }, valueType: valueTypeOf(name), profilable: true, leaves: new Map() };
      this.stackMaps.set(name, map);
    }
    return map;
  }

  private frameOf(printed: PrintedFrame): Frame {
    let frame = this.modelOfPrinted.get(printed);
    if (frame === undefined) {
      const name = printed.symbol === null ? `0x${(printed.address ?? 0n).toString(16)}` : printed.symbol.replace(/\+\d+$/, '');
      frame = this.modelFrame(name, printed.module === null ? undefined : basename(printed.module));
      // Frames parsed by the line reader (json keys) are fresh objects: the cache stops somewhere.
      if (this.modelOfPrinted.size < FRAME_LINE_CACHE_ENTRIES) this.modelOfPrinted.set(printed, frame);
    }
    return frame;
  }

  private modelFrame(name: string, module: string | undefined): Frame {
    const key = module === undefined ? name : `${name}\u0000${module}`;
    let frame = this.modelFrames.get(key);
    if (frame === undefined) {
      frame = module === undefined ? { name } : { name, module };
      this.modelFrames.set(key, frame);
    }
    return frame;
  }
}

/** FNV-1a over every byte of buffer[start, end). */
function hashAll(buffer: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let at = start; at < end; at += 1) hash = Math.imul(hash ^ buffer[at]!, 0x01000193);
  return hash;
}

/**
 * FNV-1a over every eighth byte of buffer[start, end), and its last bytes: stack texts are hundreds
 * of bytes and this runs once per printed stack; stacks that hash alike are told apart by comparing
 * their bytes, so a weaker hash costs a comparison, never a wrong stack.
 */
function hashBytes(buffer: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  for (let at = start; at < end; at += 8) hash = Math.imul(hash ^ buffer[at]!, 0x01000193);
  for (let at = Math.max(start, end - 16); at < end; at += 1) hash = Math.imul(hash ^ buffer[at]!, 0x01000193);
  return hash;
}

/**
 * The newline before the next line that starts with `byte` (from `start` on), or -1. Searching for
 * the one byte (memchr) and checking the byte before is faster than searching for the pair.
 */
function lineStartingWith(buffer: Buffer, byte: number, start: number): number {
  for (let at = buffer.indexOf(byte, start); at !== -1; at = buffer.indexOf(byte, at + 1)) {
    if (at > start && buffer[at - 1] === 0x0a) return at - 1;
  }
  return -1;
}

function sameBytes(known: StackText, buffer: Buffer, start: number, stop: number): boolean {
  return known.length === stop - start && buffer.compare(known.slab, known.offset, known.offset + known.length, start, stop) === 0;
}

/** [A-Za-z0-9_]: the bytes of a map name after its "@". */
function isNameByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f;
}

function child(node: TrieNode, frame: Frame): TrieNode {
  const first = node.first;
  if (first === null) return (node.first = { frame, value: 0, first: null, children: null });
  if (first.frame === frame) return first;
  if (node.children === null) node.children = new Map([[first.frame!, first]]);
  let next = node.children.get(frame);
  if (next === undefined) {
    next = { frame, value: 0, first: null, children: null };
    node.children.set(frame, next);
  }
  return next;
}

/** Every stack that ends in the trie with a value, root first. */
function samplesOf(root: TrieNode, valueName: string): StackSample[] {
  const samples: StackSample[] = [];
  const path: Frame[] = [];
  const visit = (node: TrieNode) => {
    if (node.frame !== null) path.push(node.frame);
    // The root holds entries whose keys had no frames at all (empty stacks, no plain parts).
    if (node.value !== 0) samples.push({ frames: [...path], values: { [valueName]: node.value } });
    if (node.children !== null) for (const next of node.children.values()) visit(next);
    else if (node.first !== null) visit(node.first);
    if (node.frame !== null) path.pop();
  };
  visit(root);
  return samples;
}

/**
 * The unit is read from the map's name, as bpftrace's own tools name maps (`@bytes`, `@usecs`):
 * bytes for `…bytes`/`…size`, nanoseconds for `…ns`/`…nsecs`; anything else is a count.
 */
function valueTypeOf(mapName: string): ValueType {
  const name = mapName === '@' ? 'count' : mapName.slice(1);
  if (/(?:^|_)(?:bytes?|size|sizes)$/i.test(name)) return { name, unit: 'bytes' };
  if (/(?:^|_)(?:ns|nsecs)$/i.test(name)) return { name, unit: 'nanoseconds' };
  return { name, unit: 'count' };
}

/** hist() buckets double ([32, 64)), lhist() buckets have one width. */
function histKind(buckets: Log2Bucket[]): 'hist' | 'lhist' {
  const finite = buckets.filter((bucket) => Number.isFinite(bucket.low) && Number.isFinite(bucket.high) && bucket.high - bucket.low > 1);
  return finite.every((bucket) => bucket.high === bucket.low * 2) ? 'hist' : 'lhist';
}
