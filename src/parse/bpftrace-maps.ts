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
// read in Buffer chunks and split into lines by scanning bytes; a frame line inside a stack key is
// hashed from its bytes and looked up in a table of the frame lines already seen, so a repeated frame
// costs neither a string nor a regular expression. Stacks are merged in a trie of frames. Memory is
// bounded by the distinct frames and stacks, not by the file. Every other line goes to the
// line reader as a string.
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
    let buffer = Buffer.allocUnsafe(options.chunkBytes ?? 1 << 20);
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
    if (kept > 0) collector.lastLine(buffer, kept);
  } finally {
    await handle.close();
  }
  return collector.finish();
}

/** A trie of root-first frames: one node per distinct stack prefix, the value where a stack ends. */
interface TrieNode {
  frame: Frame | null;
  value: number;
  children: Map<Frame, TrieNode> | null;
}

interface StackMapState {
  name: string;
  entries: number;
  root: TrieNode;
  valueType: ValueType;
  profilable: boolean;
}

/** Frame lines seen so far, found again by a hash of their bytes: an open-addressing table. */
class FrameLineTable {
  private hashes = new Int32Array(1 << 12);
  private slots: Array<{ bytes: Buffer; frame: PrintedFrame } | undefined> = new Array(1 << 12);
  private size = 0;

  find(buffer: Buffer, start: number, end: number, hash: number): PrintedFrame | undefined {
    const mask = this.hashes.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot];
      if (entry === undefined) return undefined;
      if (this.hashes[slot] !== hash || entry.bytes.length !== end - start) continue;
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
  private readonly frameLines = new FrameLineTable();
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
    let start = 0;
    while (start < end) {
      if (this.reader.inStackKey && (buffer[start] === 0x20 || buffer[start] === 0x09)) {
        // The hot path: a frame line. Hash it while looking for its end.
        let hash = 0x811c9dc5;
        let at = start;
        let byte = 0;
        while (at < end && (byte = buffer[at]!) !== 0x0a) {
          hash = Math.imul(hash ^ byte, 0x01000193);
          at += 1;
        }
        if (at === end) return start;
        this.lineNumber += 1;
        let lineEnd = at;
        if (lineEnd > start && buffer[lineEnd - 1] === 0x0d) {
          lineEnd -= 1;
          hash = this.hashOf(buffer, start, lineEnd);
        }
        this.frameLine(buffer, start, lineEnd, hash);
        start = at + 1;
        continue;
      }
      const newline = buffer.indexOf(0x0a, start);
      if (newline === -1 || newline >= end) return start;
      this.lineNumber += 1;
      this.line(buffer.toString('utf8', start, newline > start && buffer[newline - 1] === 0x0d ? newline - 1 : newline));
      start = newline + 1;
    }
    return start;
  }

  /** The last line of a file that does not end in a newline. */
  lastLine(buffer: Buffer, end: number): void {
    this.lineNumber += 1;
    this.line(buffer.toString('utf8', 0, end));
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

  private hashOf(buffer: Buffer, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let at = start; at < end; at += 1) hash = Math.imul(hash ^ buffer[at]!, 0x01000193);
    return hash;
  }

  private frameLine(buffer: Buffer, start: number, end: number, hash: number): void {
    let frame = this.frameLines.find(buffer, start, end, hash);
    if (frame === undefined) {
      const text = buffer.toString('utf8', start, end);
      try {
        frame = parseFrame(text);
      } catch (error) {
        this.malformed(error, text);
        return;
      }
      this.frameLines.add(buffer, start, end, hash, frame);
    }
    this.reader.pushFrame(frame);
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
    map.entries += 1;
    if (typeof value !== 'number') {
      if (map.profilable) this.result.unprofiledMaps.push(name);
      map.profilable = false;
      return;
    }
    let node = map.root;
    const parts = key.kind === 'stack' ? [{ kind: 'stack' as const, frames: key.frames }] : key.parts;
    for (const part of parts) if (part.kind === 'value') node = child(node, this.modelFrame(part.text, undefined));
    for (let stack = parts.length - 1; stack >= 0; stack -= 1) {
      const part = parts[stack]!;
      if (part.kind !== 'stack') continue;
      // Printed leaf first; the profile is root first.
      for (let index = part.frames.length - 1; index >= 0; index -= 1) node = child(node, this.frameOf(part.frames[index]!));
    }
    node.value += value;
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
      map = { name, entries: 0, root: { frame: null, value: 0, children: null }, valueType: valueTypeOf(name), profilable: true };
      this.stackMaps.set(name, map);
    }
    return map;
  }

  private frameOf(printed: PrintedFrame): Frame {
    let frame = this.modelOfPrinted.get(printed);
    if (frame === undefined) {
      const name = printed.symbol === null ? `0x${(printed.address ?? 0n).toString(16)}` : printed.symbol.replace(/\+\d+$/, '');
      frame = this.modelFrame(name, printed.module === null ? undefined : basename(printed.module));
      // Frames parsed by the line reader (json keys) are fresh objects: only interned ones are kept.
      if (this.modelOfPrinted.size < 1 << 20) this.modelOfPrinted.set(printed, frame);
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

function child(node: TrieNode, frame: Frame): TrieNode {
  if (node.children === null) node.children = new Map();
  let next = node.children.get(frame);
  if (next === undefined) {
    next = { frame, value: 0, children: null };
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
