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
// Speed: a map dump of a long trace runs to hundreds of MB, nearly all of it frame lines, and one
// map's keys are unique, so every stack it prints is new. The file is read in Buffer chunks. Inside
// a stack key, the frame lines up to the line that closes or continues the key (`]…` or `,…`,
// found with Buffer.indexOf) are taken as one run of bytes. Each line is found, by its bytes, in a
// table of the frame lines seen (ByteTable: hashed and compared 4 bytes at a time); only a new
// line becomes a string and is parsed. A line's id gives its frame's id (offset dropped, frames
// interned once in a FrameTable), and the stack goes into its map's StackTrie (typed arrays, no
// object per frame or stack) at its `]: 123`, read from its bytes like `@name[`. No PrintedFrame
// is made on this path: keys of several parts (`@[pid, kstack, ustack]`) hand their frames to the
// line reader (BpftraceOutputReader), as every other line goes to it as a string.
// Stacks that repeat (several maps, periodic prints) are found whole: a hash of the run's bytes and
// a byte comparison give its line ids and, per map, its trie node. That cache stops growing at
// STACK_TEXT_CACHE_BYTES, or when stacks do not repeat (then 1 stack in 16 is still looked up).
// Memory is bounded by the distinct frame lines and trie nodes, not by the file: see StackTrie for
// the cost of a node, and docs/performance.md for measurements.
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { ParseError } from '../errors.js';
import type { Log2Bucket } from '../model/histogram.js';
import type { StackProfile, ValueType } from '../model/stack-profile.js';
import { FrameTable, grownArray, ROOT, StackTrie } from '../model/stack-trie.js';
import { ByteTable, hashWords, LINE_HASH, scanLine } from './byte-table.js';
import { BpftraceShell, parseFrame, type BpftraceKey, type BpftraceValue, type PrintedFrame } from './bpftrace-output.js';
import { emptyLineCounts, type LineCounts } from './line-shell.js';

const FORMAT = 'bpftrace map output';

/** One map keyed by stacks, merged into a profile of one value type. */
export interface BpftraceStackMap {
  /** `@`, `@bytes`… */
  name: string;
  /** Entries printed for the map (before stacks that fold alike were merged). */
  entries: number;
  /** The map's stacks, merged: what folded output streams from. */
  stacks: StackTrie;
  /** The stacks as a profile, made on first use (an object per stack: the other reports need it). */
  readonly profile: StackProfile;
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
  /**
   * Malformed lines (skipped under --lenient) and foreign ones (no map output: printf text, a
   * launched target's own output), counted as every reader counts them (line-shell.ts).
   */
  lines: LineCounts;
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

interface StackMapState {
  name: string;
  entries: number;
  trie: StackTrie;
  valueType: ValueType;
  profilable: boolean;
}

/** A stack's frame lines seen before: the bytes they were read from, their ids, how many lines. */
interface StackText {
  /** Where the stack's bytes were copied to: a slab of the cache, and the offset in it. */
  slab: Buffer;
  offset: number;
  length: number;
  /** The ids of its frame lines, leaf first: lineIds[idOffset, idOffset + idCount), a slab shared by many stacks. */
  lineIds: Int32Array;
  idOffset: number;
  idCount: number;
  lines: number;
  /** The trie node these frames reached in the map they were last counted in. */
  leafMap: StackMapState | undefined;
  leaf: number;
}

/** How much stack text the cache of stacks seen keeps; past it, new stacks are read line by line. */
const STACK_TEXT_CACHE_BYTES = 64 * 2 ** 20;
const MAX_SAME_HASH = 8;
const SLAB_BYTES = 4 * 2 ** 20;
const ID_SLAB_LENGTH = 2 ** 18;
/** After this many lookups, the cache stops growing if fewer than 1 in 20 found a stack. */
const CACHE_TRIAL = 20_000;

class MapsCollector {
  private readonly shell: BpftraceShell<never>;
  /** Stacks seen, by a hash of their lines' bytes (then compared byte for byte); capped at STACK_TEXT_CACHE_BYTES. */
  private readonly stackTexts = new Map<number, StackText | StackText[]>();
  private stackTextBytes = 0;
  private slab: Buffer | null = null;
  private slabUsed = 0;
  private idSlab: Int32Array | null = null;
  private idSlabUsed = 0;
  /** Stacks looked up in the cache, and found: a dump of stacks that never repeat stops filling it. */
  private stackLookups = 0;
  private stackHits = 0;
  private stacksRead = 0;
  /** Where the next close and continue lines are in the current buffer (-1: none; -2: not looked). */
  private nextClose = -2;
  private nextContinue = -2;
  /** The frames of every stack map (name and module → id), shared by their tries. */
  private readonly frames = new FrameTable();
  /** Frame lines seen (by their bytes) → line id; lineFrames[line id] is its frame's id. */
  private readonly frameLines = new ByteTable();
  private lineFrames: Int32Array = new Int32Array(1 << 12);
  /** The printed frame of a line id, made only when a key of several parts needs it. */
  private readonly printedOfLine: PrintedFrame[] = [];
  /** The frame id of a printed frame (a -f json key's, a multi-part key's). */
  private readonly frameOfPrinted = new WeakMap<PrintedFrame, number>();
  /**
   * The frame lines (line ids, leaf first) of the stack just read, not yet handed to the line
   * reader: a `@[ustack]` key's go straight into the trie at its `]: VALUE`; any other line first
   * hands them over as printed frames (flushPending). `pendingText` is their cache entry, if any.
   */
  private scratch: Int32Array = new Int32Array(256);
  private view: DataView | null = null;
  private pendingIds: Int32Array = this.scratch;
  private pendingStart = 0;
  private pendingCount = 0;
  private pendingText: StackText | null = null;
  /** The pending stack's frame ids, root first. */
  private rootFirst: Int32Array = new Int32Array(256);
  private readonly stackMaps = new Map<string, StackMapState>();
  private readonly result: BpftraceMaps = {
    stackMaps: [],
    histograms: [],
    otherMaps: [],
    unprofiledMaps: [],
    attachedProbes: null,
    lostEvents: 0,
    lostNotices: 0,
    lines: emptyLineCounts(),
    truncated: false,
  };

  constructor(
    private readonly path: string,
    private readonly lenient: boolean,
  ) {
    const result = this.result;
    this.shell = new BpftraceShell<never>(
      { source: path, format: FORMAT, lenient },
      {
        attached: (probes) => {
          result.attachedProbes = probes;
        },
        lost: (events) => {
          result.lostEvents += events;
          result.lostNotices += 1;
        },
        text: () => this.shell.foreign(),
        other: (type, data) => {
          // -f json's stats and avg maps arrive as "stats"; time and others are not maps.
          if (type !== 'stats' || typeof data !== 'object' || data === null) return this.shell.foreign();
          for (const [name, value] of Object.entries(data)) result.otherMaps.push({ name, entries: 1, text: JSON.stringify(value) });
        },
        hist: (record) => {
          result.histograms.push({ name: record.name, kind: histKind(record.buckets), buckets: record.buckets });
        },
        map: (record) => {
          for (const entry of record.entries) this.entry(record.name, entry.key, entry.value);
        },
      },
      result.lines,
    );
  }

  private get reader() {
    return this.shell.reader;
  }

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
      this.shell.lineNumber += 1;
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
    this.shell.lineNumber += 1;
    return at + 2;
  }

  /** `]: 123` inside a stack key (a count or sum): closes it; returns the next line's start, or -1. */
  private closeLine(buffer: Buffer, start: number, end: number): number {
    if (!this.reader.inStackKey || start + 3 >= end || buffer[start + 1] !== 0x3a || buffer[start + 2] !== 0x20) return -1;
    let at = start + 3;
    let value = 0;
    // Up to 15 digits: exact in a double; longer (and negative) values take the general path.
    for (let byte = buffer[at]!; at < end && byte >= 0x30 && byte <= 0x39 && at - start < 18; byte = buffer[++at]!)
      value = value * 10 + (byte - 0x30);
    if (at === start + 3 || at >= end || buffer[at] !== 0x0a) return -1;
    this.shell.lineNumber += 1;
    // Frames the line reader holds already come first: the pending ones join them.
    if (this.pendingCount > 0 && !this.reader.openKeyEmpty) this.flushPending();
    const stackOnly = this.reader.closeStackOnlyKey();
    if (stackOnly !== null) {
      const map = this.stackMap(stackOnly.name);
      if (stackOnly.frames.length === 0) this.pendingEntry(map, value);
      else this.printedEntry(map, stackOnly.frames, value);
      return at + 1;
    }
    this.shell.records([this.reader.closeStackKey(value)], buffer.toString('utf8', start, at));
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

  /** The frame lines buffer[start, stop) become the pending stack: one seen before is found by its bytes. */
  private stack(buffer: Buffer, start: number, stop: number): void {
    if (this.pendingCount > 0) this.flushPending();
    // Once the cache has proved useless (stacks that never repeat: one map's dump), 1 stack in 16
    // is still looked up, so that repeats coming later (a second print of the map) bring it back.
    this.stacksRead += 1;
    if ((this.stacksRead & 15) !== 0 && this.stackLookups >= CACHE_TRIAL && this.stackHits * 20 < this.stackLookups) {
      this.stackLines(buffer, start, stop);
      return;
    }
    const hash = hashBytes(buffer, start, stop);
    const found = this.stackTexts.get(hash);
    this.stackLookups += 1;
    if (found !== undefined) {
      const known = Array.isArray(found)
        ? this.match(found, buffer, start, stop)
        : sameBytes(found, buffer, start, stop)
          ? found
          : undefined;
      if (known !== undefined) {
        this.stackHits += 1;
        this.shell.lineNumber += known.lines;
        this.pendingIds = known.lineIds;
        this.pendingStart = known.idOffset;
        this.pendingCount = known.idCount;
        this.pendingText = known;
        return;
      }
    }
    const lines = this.stackLines(buffer, start, stop);
    // Few stacks share a hash; past MAX_SAME_HASH, more such stacks are read line by line each time,
    // so that a file of look-alike stacks cannot make every lookup a long search.
    const chained = found === undefined ? 0 : Array.isArray(found) ? found.length : 1;
    const worthIt = this.stackLookups < CACHE_TRIAL || this.stackHits * 20 >= this.stackLookups;
    if (lines !== -1 && worthIt && this.stackTextBytes < STACK_TEXT_CACHE_BYTES && chained < MAX_SAME_HASH) {
      const copied = this.copyBytes(buffer, start, stop);
      const ids = this.copyIds(this.pendingCount);
      const entry: StackText = {
        slab: copied.slab,
        offset: copied.offset,
        length: copied.length,
        lineIds: ids.slab,
        idOffset: ids.offset,
        idCount: this.pendingCount,
        lines,
        leafMap: undefined,
        leaf: ROOT,
      };
      this.stackTexts.set(hash, found === undefined ? entry : Array.isArray(found) ? [...found, entry] : [found, entry]);
      this.pendingIds = ids.slab;
      this.pendingStart = ids.offset;
      this.pendingText = entry;
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

  /** Copies the pending line ids into the cache's id slabs (typed arrays are costly one per stack). */
  private copyIds(count: number): { slab: Int32Array; offset: number } {
    if (this.idSlab === null || this.idSlabUsed + count > this.idSlab.length) {
      this.idSlab = new Int32Array(Math.max(ID_SLAB_LENGTH, count));
      this.idSlabUsed = 0;
    }
    this.idSlab.set(this.scratch.subarray(0, count), this.idSlabUsed);
    const copied = { slab: this.idSlab, offset: this.idSlabUsed };
    this.idSlabUsed += count;
    return copied;
  }

  private match(candidates: StackText[], buffer: Buffer, start: number, stop: number): StackText | undefined {
    for (const known of candidates) if (sameBytes(known, buffer, start, stop)) return known;
    return undefined;
  }

  /**
   * Reads a new stack's lines, buffer[start, stop), into the pending line ids; returns how many
   * lines they were, or -1 when one was skipped (--lenient). A line seen before (in any stack) is
   * found by its bytes; only a new line becomes a string and is parsed.
   */
  private stackLines(buffer: Buffer, start: number, stop: number): number {
    let count = 0;
    let good = true;
    let lines = 0;
    const view = this.viewOf(buffer);
    for (let lineStart = start; lineStart <= stop;) {
      // buffer[stop] is a newline: every line of the stack ends at or before it.
      const at = scanLine(buffer, view, lineStart);
      let hash = LINE_HASH[0]!;
      const lineEnd = at > lineStart && buffer[at - 1] === 0x0d ? at - 1 : at;
      if (lineEnd !== at) hash = hashWords(buffer, view, lineStart, lineEnd);
      lines += 1;
      this.shell.lineNumber += 1;
      let id = this.frameLines.find(buffer, view, lineStart, lineEnd, hash);
      if (id === -1) id = this.newLine(buffer, lineStart, lineEnd, hash);
      if (id === -1) good = false;
      else {
        if (count === this.scratch.length) this.scratch = grownArray(this.scratch, new Int32Array(count * 2));
        this.scratch[count++] = id;
      }
      lineStart = at + 1;
    }
    this.pendingIds = this.scratch;
    this.pendingStart = 0;
    this.pendingCount = count;
    this.pendingText = null;
    return good ? lines : -1;
  }

  /** A DataView of the read buffer (made again when the buffer grew). */
  private viewOf(buffer: Buffer): DataView {
    if (
      this.view === null ||
      this.view.buffer !== buffer.buffer ||
      this.view.byteOffset !== buffer.byteOffset ||
      this.view.byteLength !== buffer.length
    ) {
      this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
    }
    return this.view;
  }

  /** Parses a frame line not seen before and gives it an id; -1 when it is malformed (--lenient). */
  private newLine(buffer: Buffer, start: number, end: number, hash: number): number {
    const text = buffer.toString('utf8', start, end);
    let printed: PrintedFrame;
    try {
      printed = parseFrame(text);
    } catch (error) {
      this.shell.malformed(error, text);
      return -1;
    }
    const id = this.frameLines.add(buffer, start, end, hash);
    if (id === this.lineFrames.length) this.lineFrames = grownArray(this.lineFrames, new Int32Array(id * 2));
    this.lineFrames[id] = this.frameIdOf(printed);
    return id;
  }

  /** Hands the pending frame lines to the line reader, as printed frames (keys of several parts). */
  private flushPending(): void {
    const frames: PrintedFrame[] = [];
    for (let index = 0; index < this.pendingCount; index += 1) frames.push(this.printedOf(this.pendingIds[this.pendingStart + index]!));
    this.pendingCount = 0;
    this.pendingText = null;
    this.reader.pushFrames(frames);
  }

  private printedOf(lineId: number): PrintedFrame {
    let printed = this.printedOfLine[lineId];
    if (printed === undefined) {
      printed = parseFrame(this.frameLines.text(lineId));
      this.printedOfLine[lineId] = printed;
      this.frameOfPrinted.set(printed, this.lineFrames[lineId]!);
    }
    return printed;
  }

  /** What is left at the end of the file: a last line without a newline, or a stack cut short. */
  rest(buffer: Buffer, end: number): void {
    const text = buffer.toString('utf8', 0, end);
    for (const line of (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n')) {
      this.shell.lineNumber += 1;
      this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  }

  finish(): BpftraceMaps {
    if (this.pendingCount > 0) this.flushPending();
    const cut = this.shell.finish();
    if (cut !== null) {
      if (!this.lenient) {
        throw new ParseError({
          file: this.path,
          lineNumber: this.shell.lineNumber,
          format: FORMAT,
          expected: `${cut.expected} (a run cut while bpftrace printed? --lenient reports the rest)`,
        });
      }
      this.result.truncated = true;
    }
    for (const map of this.stackMaps.values()) {
      if (!map.profilable) continue;
      map.trie.freeze();
      this.result.stackMaps.push(stackMapOf(map));
    }
    const result = this.result;
    if (
      result.stackMaps.length === 0 &&
      result.histograms.length === 0 &&
      result.otherMaps.length === 0 &&
      result.unprofiledMaps.length === 0 &&
      result.lines.malformed === 0 &&
      !result.truncated
    ) {
      throw new ParseError({
        file: this.path,
        lineNumber: Math.max(1, this.shell.lineNumber),
        format: FORMAT,
        expected: 'at least one map (@name…); bpftrace printed none',
      });
    }
    return result;
  }

  private line(text: string): void {
    if (this.pendingCount > 0) this.flushPending();
    this.shell.read(text);
  }

  private entry(name: string, key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    if (key.kind === 'none' || key.kind === 'values') {
      this.otherEntry(name, key.kind === 'none' ? (Array.isArray(value) ? `(${value.join(', ')})` : String(value)) : null);
      return;
    }
    const map = this.stackMap(name);
    if (key.kind === 'stack' && typeof value === 'number') {
      this.printedEntry(map, key.frames, value);
      return;
    }
    map.entries += 1;
    if (typeof value !== 'number') {
      if (map.profilable) this.result.unprofiledMaps.push(name);
      map.profilable = false;
      return;
    }
    if (key.kind === 'stack') return; // (handled above; narrows the type)
    let node = ROOT;
    const parts = key.parts;
    for (const part of parts) if (part.kind === 'value') node = map.trie.child(node, this.frames.intern(part.text));
    // The stacks in reverse key order: the last (ustack in `@[kstack, ustack]`) nearest the root.
    for (let stack = parts.length - 1; stack >= 0; stack -= 1) {
      const part = parts[stack]!;
      if (part.kind === 'stack') node = this.walkPrinted(map.trie, node, part.frames);
    }
    map.trie.add(node, value);
  }

  /** The common `@[ustack]` entry, its frames pending: a cached stack has its trie node remembered. */
  private pendingEntry(map: StackMapState, value: number): void {
    map.entries += 1;
    const text = this.pendingText;
    const ids = this.pendingIds;
    const start = this.pendingStart;
    const count = this.pendingCount;
    this.pendingCount = 0;
    this.pendingText = null;
    if (!map.profilable) return;
    let leaf: number;
    if (text !== null && text.leafMap === map) leaf = text.leaf;
    else {
      // Printed leaf first; the trie is root first.
      if (count > this.rootFirst.length) this.rootFirst = new Int32Array(count * 2);
      const frames = this.rootFirst;
      for (let index = 0; index < count; index += 1) frames[index] = this.lineFrames[ids[start + count - 1 - index]!]!;
      leaf = map.trie.path(frames, count);
      if (text !== null) {
        text.leafMap = map;
        text.leaf = leaf;
      }
    }
    map.trie.add(leaf, value);
  }

  /** A `@[ustack]` entry whose frames the line reader parsed (-f json, raw frames). */
  private printedEntry(map: StackMapState, frames: PrintedFrame[], value: number): void {
    map.entries += 1;
    if (map.profilable) map.trie.add(this.walkPrinted(map.trie, ROOT, frames), value);
  }

  /** Printed frames are leaf first; the trie is root first. */
  private walkPrinted(trie: StackTrie, node: number, printed: PrintedFrame[]): number {
    for (let index = printed.length - 1; index >= 0; index -= 1) node = trie.child(node, this.frameIdOf(printed[index]!));
    return node;
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
      map = { name, entries: 0, trie: new StackTrie(this.frames), valueType: valueTypeOf(name), profilable: true };
      this.stackMaps.set(name, map);
    }
    return map;
  }

  /** The model frame a printed one names: offset dropped, module's base name. */
  private frameIdOf(printed: PrintedFrame): number {
    let id = this.frameOfPrinted.get(printed);
    if (id === undefined) {
      const name = printed.symbol === null ? `0x${(printed.address ?? 0n).toString(16)}` : printed.symbol.replace(/\+\d+$/, '');
      id = this.frames.intern(name, printed.module === null ? undefined : basename(printed.module));
      this.frameOfPrinted.set(printed, id);
    }
    return id;
  }
}

/** A stack map of the result: its trie, and the profile made from it on first use. */
function stackMapOf(map: StackMapState): BpftraceStackMap {
  let profile: StackProfile | null = null;
  const { name, entries, trie, valueType } = map;
  const stackMap = {
    name,
    entries,
    get profile(): StackProfile {
      profile ??= { valueTypes: [valueType], defaultValue: valueType.name, samples: trie.samples(valueType.name) };
      return profile;
    },
  };
  // Not enumerable: a map compares (deepEqual) by its profile, not by the order its frames were met.
  return Object.defineProperty(stackMap, 'stacks', { value: trie, enumerable: false }) as BpftraceStackMap;
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
