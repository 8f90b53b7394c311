// Reads bpftrace's output, line by line, in either of its two forms, into typed records.
//
// `-f json` (bpftrace 0.17: src/output.cpp, JsonOutput) prints one object per line, blank lines mixed in:
//   {"type": "attached_probes", "data": {"probes": 19}}
//   {"type": "printf", "data": "memtrace:end\n"}
//   {"type": "map", "data": {"@calls": {"malloc": 72, "free": 79}}}
//   {"type": "map", "data": {"@stack_allocs": {"94074197656617,94074197657792,0": 1}}}   multi-part keys joined by ","
//   {"type": "hist", "data": {"@size_hist": [{"min": 16, "max": 31, "count": 41}, …]}}
//   {"type": "lost_events", "data": {"events": 12}}
// The text form (the default, what a user gets running a script by hand):
//   Attaching 19 probes...
//   @calls[malloc]: 72
//   @live[94608857319216]: (1024, 843514715468)
//   @stack_allocs[
//   	560bbe79542e main+27 (/tmp/prog)
//   ]: 1
//   @size_hist:
//   [16, 32)              41 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   @live_stack[94608857319216]:
//   	560bbe79544f 0x560bbe79544f ([unknown])
//   Lost 12 events
// Keys with several parts, stacks among them (`@[comm, kstack, ustack]`), open with the parts before
// the first stack and continue on the lines after each stack (`-f json` joins the parts with ","):
//   @faults[stack-allocs,
//       exc_page_fault+752
//   ,
//       touch_pages+118
//   ]: 37
// Frames come in ustack's modes: `bpftrace` (the default; four spaces, `sym+off`, or `0xADDR`
// when unnamed), `perf` (a tab, the hex address, `sym+off` or `0xADDR`, then `(module)`) and `raw`
// (the hex address alone, not indented: what memtrace's DWARF programs print with dw_ustack(raw)).
// A stack may also be a member of a tuple value (`@live[addr]: (size, ns, <stack>)`; in JSON, a
// string holding newlines among the tuple's numbers).
// bpftrace 0.27 prints a JSON integer above 2^53 as a string of digits, so that it stays exact.
// Lines that are neither (a launched target's own output, printf text) come out as `text` records.
// BpftraceShell (at the end) is the line shell every reader of bpftrace output stands in.
import {
  emptyLineCounts,
  emptyMemtraceRecords,
  LineShell,
  Malformed,
  readMemtraceRecord,
  type LineCounts,
  type LineShellOptions,
  type MemtraceRecords,
} from './line-shell.js';

export type BpftraceValue = number | BpftraceTuple | string;

/** A tuple's members: numbers, and stacks (dw_ustack or ustack in a tuple). */
export type BpftraceTuple = Array<number | PrintedFrame[]>;

/**
 * One frame of a bpftrace-printed stack. `ustack(perf)` prints address, symbol+offset and module;
 * the default `bpftrace` mode prints symbol+offset alone (address null) or, unnamed, the address
 * alone (symbol null): a frame always has one of the two.
 */
export interface PrintedFrame {
  address: bigint | null;
  symbol: string | null;
  module: string | null;
}

/** One part of a multi-part key: a plain value (pid, comm, arg0) or a stack. */
export type BpftraceKeyPart = { kind: 'value'; text: string } | { kind: 'stack'; frames: PrintedFrame[] };

export type BpftraceKey =
  | { kind: 'none' }
  | { kind: 'values'; parts: string[] }
  | { kind: 'stack'; frames: PrintedFrame[] }
  /** Several parts, at least one a stack (`@[comm, ustack]`, `@[pid, kstack, ustack]`). */
  | { kind: 'composite'; parts: BpftraceKeyPart[] };

export type HistBucket = { low: number; high: number; count: number };

export type BpftraceRecord =
  | { type: 'attached'; probes: number }
  | { type: 'printf'; text: string }
  | { type: 'map'; name: string; entries: Array<{ key: BpftraceKey; value: BpftraceValue | PrintedFrame[] }> }
  /** hist() and lhist(): [low, high); lhist's out-of-range buckets are unbounded (±Infinity). */
  | { type: 'hist'; name: string; buckets: HistBucket[] }
  | { type: 'lost'; events: number }
  /** A JSON line of another type (time, stats, or memtrace's own records in a raw log). */
  | { type: 'other'; jsonType: string; data: unknown }
  | { type: 'text'; text: string };

const ATTACHING = /^Attaching (\d+) probes?\.\.\.$/;
const LOST = /^Lost (\d+) events$/;
const MAP_LINE = /^(@[A-Za-z0-9_]*)(?:\[(.*)\])?: ?(.*)$/;
/** `@name[` alone, or `@name[pid, comm, ` (the parts before the first stack of a multi-part key). */
const MAP_STACK_KEY_START = /^(@[A-Za-z0-9_]*)\[((?:(?:(?!\]: ).)*, ?)?)$/;
/** What follows a stack inside a key: `]: value`, `, ]: value`, `, more, parts]: value` or `, ` (another stack). */
const STACK_KEY_END = /^,? ?(.*)\]: (.+)$/;
const STACK_KEY_NEXT = /^, ?((?:.*, ?)?)$/;
const HIST_LINE = /^\[(-?[0-9.]+[KMGTPE]?), ?(-?[0-9.]+[KMGTPE]?)[\])]\s+(\d+) \|/;
const HIST_SINGLE = /^\[(-?\d+)\]\s+(\d+) \|/;
/** lhist's (and a signed hist's) out-of-range buckets: `(..., 64)` and `[128, ...)`. */
const HIST_BELOW = /^\(\.\.\., ?(-?[0-9.]+[KMGTPE]?)\)\s+(\d+) \|/;
const HIST_ABOVE = /^\[(-?[0-9.]+[KMGTPE]?), ?\.\.\.\)\s+(\d+) \|/;
const PERF_FRAME = /^\s+([0-9a-f]+) (.*?)(?: \((.*)\))?$/;
const ADDRESS_FRAME = /^\s+(?:0x)?([0-9a-f]+)$/;
/** `raw` mode: the address alone, from the first column (bpftrace 0.23's ustack(raw), 0.26's dw_ustack(raw)). */
const RAW_FRAME = /^[0-9a-f]{1,16}$/;
/**
 * Where dw_ustack could not unwind further (no call-frame information for the address, or the stack
 * unreadable), bpftrace 0.27 ends the stack with `<unwind failure>` (`<unwindfailure>` in raw mode).
 */
const UNWIND_FAILURE = /^\s*<unwind ?failure>$/;

/**
 * dw_ustack gives every frame past the leaf as its return address minus one (the call instruction's
 * last byte, where unwinders place a call site); memtrace's frame-pointer walks and ustack give
 * return addresses. Read back to return addresses, one rule holds downstream (symbolization looks
 * up address - 1; the call check reads the bytes before it). The leaf is the probe's own address.
 */
export function returnAddressesOfUnwound(frames: PrintedFrame[]): PrintedFrame[] {
  return frames.map((frame, index) => (index === 0 || frame.address === null ? frame : { ...frame, address: frame.address + 1n }));
}

/** Whether a raw log's memtrace header says its stacks were unwound with DWARF (tracer.stacks). */
export function headerSaysDwarf(header: Record<string, unknown> | null): boolean {
  const tracer = header?.tracer;
  return typeof tracer === 'object' && tracer !== null && (tracer as { stacks?: unknown }).stacks === 'dwarf';
}

/** The symbol of the frame that stands for dw_ustack's `<unwind failure>`: the stack stops there. */
export const UNWIND_FAILURE_SYMBOL = '[DWARF unwinding stopped]';

/** The state between records; one object, as it has no fields (a reader goes idle once per record). */
const IDLE = { kind: 'idle' } as const;

/**
 * A line-at-a-time state machine: push each line, collect the records it completes.
 * Text-form maps with multi-line keys or values span several lines; `finish()` flushes the last one.
 */
export class BpftraceOutputReader {
  private state:
    | { kind: 'idle' }
    /** `shared`: frames is a caller's array (pushFrames), copied before it is changed. */
    | { kind: 'stack-key'; name: string; parts: BpftraceKeyPart[]; frames: PrintedFrame[]; shared?: boolean }
    | { kind: 'stack-value'; name: string; key: BpftraceKey; frames: PrintedFrame[] }
    | { kind: 'hist'; name: string; buckets: HistBucket[] } = IDLE;

  /** Returns the records this line completes (maybe none, maybe the previous multi-line one). */
  push(rawLine: string): BpftraceRecord[] {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('{')) return [...this.flush(), parseJsonLine(line)];
    switch (this.state.kind) {
      case 'stack-key': {
        const first = line.charCodeAt(0);
        if (first !== 0x2c && first !== 0x5d) {
          // Neither "," nor "]": a frame line.
          this.pushFrame(parseFrame(line));
          return [];
        }
        const { name, parts, frames } = this.state;
        parts.push({ kind: 'stack', frames });
        const end = STACK_KEY_END.exec(line);
        if (end) {
          // `, ]: value`: the key's last part is a stack, and it is empty (a kstack in user context).
          if (first === 0x2c && end[1] === '') parts.push({ kind: 'stack', frames: [] });
          for (const text of splitKeyParts(end[1]!)) parts.push({ kind: 'value', text });
          this.state = IDLE;
          return [mapRecord(name, keyOfParts(parts), parseScalar(end[2]!))];
        }
        const next = STACK_KEY_NEXT.exec(line);
        if (!next) throw new Malformed(`a frame, "]: value" or ", " after the stack in a key of ${name}`);
        for (const text of splitKeyParts(next[1]!)) parts.push({ kind: 'value', text });
        this.state = { kind: 'stack-key', name, parts, frames: [] };
        return [];
      }
      case 'stack-value':
        if (/^\s/.test(line) && line.trim() !== '') {
          this.state.frames.push(parseFrame(line));
          return [];
        }
        return [...this.flush(), ...this.push(line)];
      case 'hist': {
        const bucket = parseHistLine(line);
        if (bucket) {
          this.state.buckets.push(bucket);
          return [];
        }
        return [...this.flush(), ...this.push(line)];
      }
      case 'idle':
        break;
    }
    if (line.trim() === '') return [];
    const attaching = ATTACHING.exec(line);
    if (attaching) return [{ type: 'attached', probes: Number(attaching[1]) }];
    const lost = LOST.exec(line);
    if (lost) return [{ type: 'lost', events: Number(lost[1]) }];
    const stackKey = MAP_STACK_KEY_START.exec(line);
    if (stackKey) {
      const parts: BpftraceKeyPart[] = splitKeyParts(stackKey[2]!).map((text) => ({ kind: 'value', text }));
      this.state = { kind: 'stack-key', name: stackKey[1]!, parts, frames: [] };
      return [];
    }
    const map = MAP_LINE.exec(line);
    if (map) {
      const [, name, keyText, valueText] = map as unknown as [string, string, string | undefined, string];
      const key: BpftraceKey = keyText === undefined ? { kind: 'none' } : { kind: 'values', parts: splitKey(keyText) };
      if (valueText.trim() === '') {
        // A histogram or a stack value follows on the next lines; which one, the next line tells.
        this.state = key.kind === 'none' ? { kind: 'hist', name, buckets: [] } : { kind: 'stack-value', name, key, frames: [] };
        return [];
      }
      return [mapRecord(name, key, parseScalar(valueText))];
    }
    return [{ type: 'text', text: line }];
  }

  /** Completes a multi-line record left open at the end of the input. */
  finish(): BpftraceRecord[] {
    return this.flush();
  }

  /** True while a multi-line record is open: input ending here was cut mid-record. */
  get inRecord(): boolean {
    return this.state.kind === 'stack-key';
  }

  /**
   * True when the next line is a frame of a stack key, if it starts with white space: a fast
   * reader may then parse (and intern) the frame itself and hand it to pushFrame.
   */
  get inStackKey(): boolean {
    return this.state.kind === 'stack-key';
  }

  /**
   * True when the open stack key has nothing yet (no plain part, no frame): a fast reader may keep
   * the frames of a `@[ustack]` key itself and close it with closeStackOnlyKey, frames empty.
   */
  get openKeyEmpty(): boolean {
    return this.state.kind === 'stack-key' && this.state.parts.length === 0 && this.state.frames.length === 0;
  }

  /** Appends a frame parsed by the caller (see inStackKey) to the open stack key. */
  pushFrame(frame: PrintedFrame): void {
    if (this.state.kind !== 'stack-key') throw new Error('pushFrame outside a stack key');
    if (this.state.shared === true) {
      this.state.frames = [...this.state.frames];
      this.state.shared = false;
    }
    this.state.frames.push(frame);
  }

  /**
   * Appends the frames of several lines at once. When they are the whole stack, the array itself
   * becomes the key's `frames` (not copied, never changed): a caller that caches the frames of a
   * stack it has seen before finds its own array in the record again.
   */
  pushFrames(frames: PrintedFrame[]): void {
    if (this.state.kind !== 'stack-key') throw new Error('pushFrames outside a stack key');
    if (this.state.frames.length === 0) {
      this.state.frames = frames;
      this.state.shared = true;
      return;
    }
    for (const frame of frames) this.pushFrame(frame);
  }

  /**
   * push(`@name[`) for a fast reader that recognised that line itself; false (nothing done) when
   * a record is open, and the line must go through push.
   */
  openStackKey(name: string): boolean {
    if (this.state.kind !== 'idle') return false;
    this.state = { kind: 'stack-key', name, parts: [], frames: [] };
    return true;
  }

  /**
   * push(`]: VALUE`) for a fast reader when the open key is one stack alone (`@[ustack]`): closes
   * it and returns the map's name and the frames, without building a record; null (nothing done)
   * for a key of several parts, which closeStackKey then closes.
   */
  closeStackOnlyKey(): { name: string; frames: PrintedFrame[] } | null {
    if (this.state.kind !== 'stack-key' || this.state.parts.length > 0) return null;
    const { name, frames } = this.state;
    this.state = IDLE;
    return { name, frames };
  }

  /** push(`]: VALUE`) inside a stack key, VALUE an integer, for a fast reader (see openStackKey). */
  closeStackKey(value: number): BpftraceRecord {
    if (this.state.kind !== 'stack-key') throw new Error('closeStackKey outside a stack key');
    const { name, parts, frames } = this.state;
    this.state = IDLE;
    if (parts.length === 0) return mapRecord(name, { kind: 'stack', frames }, value);
    parts.push({ kind: 'stack', frames });
    return mapRecord(name, keyOfParts(parts), value);
  }

  /** Forgets an open multi-line record (after a malformed line, in lenient mode). */
  reset(): void {
    this.state = IDLE;
  }

  private flush(): BpftraceRecord[] {
    const state = this.state;
    this.state = IDLE;
    switch (state.kind) {
      case 'hist':
        return [{ type: 'hist', name: state.name, buckets: state.buckets }];
      case 'stack-value':
        return [mapRecord(state.name, state.key, state.frames)];
      case 'stack-key':
        throw new Malformed(`the end of the stack key of ${state.name} ("]: value"), but the input ended`);
      case 'idle':
        return [];
    }
  }
}

function mapRecord(name: string, key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): BpftraceRecord {
  return { type: 'map', name, entries: [{ key, value }] };
}

function parseJsonLine(line: string): BpftraceRecord {
  let object: unknown;
  try {
    object = JSON.parse(line);
  } catch {
    throw new Malformed('a complete JSON object (bpftrace -f json output)');
  }
  if (typeof object !== 'object' || object === null || typeof (object as { type?: unknown }).type !== 'string') {
    throw new Malformed('a JSON object with a "type" field');
  }
  const { type, data } = object as { type: string; data: unknown };
  switch (type) {
    case 'attached_probes':
      return { type: 'attached', probes: Number((data as { probes?: unknown })?.probes ?? 0) };
    case 'printf':
      if (typeof data !== 'string') throw new Malformed('printf data as a string');
      return { type: 'printf', text: data };
    case 'lost_events':
      return { type: 'lost', events: Number((data as { events?: unknown })?.events ?? 0) };
    case 'map':
      return parseJsonMap(data);
    case 'hist':
      return parseJsonHist(data);
    default:
      // time, stats, join, syscall and memtrace's own records: passed on for the caller to judge.
      return { type: 'other', jsonType: type, data };
  }
}

function singleEntry(data: unknown, what: string): [string, unknown] {
  if (typeof data !== 'object' || data === null) throw new Malformed(`${what} data as an object`);
  const entries = Object.entries(data);
  if (entries.length !== 1 || !entries[0]![0].startsWith('@')) throw new Malformed(`${what} data with one @map`);
  return entries[0]!;
}

function parseJsonMap(data: unknown): BpftraceRecord {
  const [name, value] = singleEntry(data, 'map');
  if (typeof value === 'number' || Array.isArray(value)) {
    return { type: 'map', name, entries: [{ key: { kind: 'none' }, value: checkValue(value) }] };
  }
  if (typeof value !== 'object' || value === null) throw new Malformed(`a number, tuple or keyed object for ${name}`);
  const entries = Object.entries(value).map(([escapedKey, entryValue]) => {
    const keyText = unescapeJsonKey(escapedKey);
    return {
      key: keyText.includes('\n') ? parseJsonStackKey(keyText) : ({ kind: 'values', parts: keyText.split(',') } as const),
      value: isStackText(entryValue) ? stackOfText(entryValue) : checkValue(entryValue),
    };
  });
  return { type: 'map', name, entries };
}

/**
 * bpftrace 0.23 escapes a map key twice in JSON: a stack key arrives as the characters `\n\t5576…`
 * rather than a newline and a tab (0.17 escapes once). A key with escapes and no real newline is read
 * once more as a JSON string; one that does not decode as such is kept as it came.
 */
function unescapeJsonKey(key: string): string {
  if (key.includes('\n') || !/\\[nt"\\]/.test(key)) return key;
  try {
    const decoded: unknown = JSON.parse(`"${key}"`);
    return typeof decoded === 'string' ? decoded : key;
  } catch {
    return key;
  }
}

/**
 * A JSON key holding stacks: its parts joined by ",", each stack as "\n" + one line per frame, each
 * ended by "\n" (`"stack-allocs,\n    exc_page_fault+752\n,\n    touch_pages+118\n"`).
 * A plain part is read up to the next ",": a comm holding a comma is split there.
 */
function parseJsonStackKey(text: string): BpftraceKey {
  const parts: BpftraceKeyPart[] = [];
  let at = 0;
  while (at <= text.length) {
    if (text.charCodeAt(at) === 0x0a) {
      const frames: PrintedFrame[] = [];
      at += 1;
      // Frame lines start with white space, or are raw addresses; the stack ends at a line that is
      // neither ("," or the end).
      while (at < text.length && isFrameLineStart(text.charCodeAt(at))) {
        const end = text.indexOf('\n', at);
        if (end === -1) throw new Malformed('stack frames each ended by a newline in a JSON key');
        frames.push(parseFrame(text.slice(at, end)));
        at = end + 1;
      }
      parts.push({ kind: 'stack', frames });
      if (at >= text.length) break;
      if (text.charCodeAt(at) !== 0x2c) throw new Malformed('"," after a stack in a JSON key');
      at += 1;
      if (at === text.length) {
        parts.push({ kind: 'stack', frames: [] }); // an empty last stack: "…\n,"
        break;
      }
      continue;
    }
    const comma = text.indexOf(',', at);
    const end = comma === -1 ? text.length : comma;
    parts.push({ kind: 'value', text: text.slice(at, end) });
    at = end + 1;
    if (comma === -1) break;
  }
  return keyOfParts(parts);
}

/** A key of one stack alone stays a `stack` key, the shape memtrace's own maps have. */
function keyOfParts(parts: BpftraceKeyPart[]): BpftraceKey {
  if (parts.length === 1 && parts[0]!.kind === 'stack') return { kind: 'stack', frames: parts[0]!.frames };
  return { kind: 'composite', parts };
}

function splitKeyParts(text: string): string[] {
  const trimmed = text.replace(/, ?$/, '');
  return trimmed === '' ? [] : splitKey(trimmed);
}

function checkValue(value: unknown): BpftraceValue {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (Array.isArray(value)) {
    return value.map((item: unknown) => {
      if (typeof item === 'number') return item;
      if (typeof item === 'string' && DECIMAL.test(item)) return Number(item);
      if (isStackText(item)) return stackOfText(item);
      throw new Malformed('a map value that is a number, a string or a tuple of numbers and stacks');
    });
  }
  throw new Malformed('a map value that is a number, a string or a tuple of numbers and stacks');
}

const DECIMAL = /^-?\d{1,20}$/;

/** A map's value as an integer: a number, or a string of digits (bpftrace 0.27, above 2^53). */
export function integerValue(value: BpftraceValue | PrintedFrame[], name: string): number {
  if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
  if (typeof value !== 'number') throw new Malformed(`a number as the value of ${name}`);
  return value;
}

/** A map's value as an address, exact even above 2^53 when bpftrace printed it as a string of digits. */
export function addressValue(value: BpftraceValue | PrintedFrame[], name: string): bigint {
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  return BigInt(integerValue(value, name));
}

/** A stack printed as a JSON string: a newline, then each frame line ended by a newline. */
function isStackText(value: unknown): value is string {
  return typeof value === 'string' && value.includes('\n');
}

function stackOfText(text: string): PrintedFrame[] {
  return text
    .split('\n')
    .filter((part) => part.trim() !== '')
    .map(parseFrame);
}

/** White space (ustack's indented modes), a hex digit (raw mode) or `<` (a marker such as `<unwind failure>`). */
function isFrameLineStart(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x3c || (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66);
}

function parseJsonHist(data: unknown): BpftraceRecord {
  const [name, value] = singleEntry(data, 'hist');
  if (!Array.isArray(value)) throw new Malformed(`an array of buckets for ${name}`);
  const buckets: HistBucket[] = [];
  for (const bucket of value as unknown[]) {
    const { min, max, count } = (bucket ?? {}) as { min?: unknown; max?: unknown; count?: unknown };
    if (typeof count !== 'number') throw new Malformed(`buckets with a numeric count in ${name}`);
    // bpftrace prints inclusive bounds in JSON ([16, 31]); the model uses [low, high). The
    // out-of-range buckets of lhist (and of hist on negative values) lack "min" or "max".
    let low = typeof min === 'number' ? min : Number.NEGATIVE_INFINITY;
    let high = typeof max === 'number' ? max + 1 : Number.POSITIVE_INFINITY;
    const previous = buckets.at(-1);
    if (typeof min === 'number' && typeof max === 'number' && (low < 0 || high <= low) && previous !== undefined && previous.low >= 0) {
      // bpftrace 0.17 prints the bounds of buckets from 2^31 up as {"min": -2147483648, "max": 0}
      // (an int overflow) and merges them: all that is known is [previous high, 2^64).
      low = previous.high;
      high = 2 ** 64;
    }
    buckets.push({ low, high, count });
  }
  return { type: 'hist', name, buckets };
}

const UNIT: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50, E: 2 ** 60 };

function parseHistLine(line: string): HistBucket | null {
  const single = HIST_SINGLE.exec(line);
  if (single) return { low: Number(single[1]), high: Number(single[1]) + 1, count: Number(single[2]) };
  // Before HIST_LINE, whose number pattern would take "..." for a number.
  const below = HIST_BELOW.exec(line);
  if (below) return { low: Number.NEGATIVE_INFINITY, high: histBound(below[1]!), count: Number(below[2]) };
  const above = HIST_ABOVE.exec(line);
  if (above) return { low: histBound(above[1]!), high: Number.POSITIVE_INFINITY, count: Number(above[2]) };
  const match = HIST_LINE.exec(line);
  if (!match) return null;
  return { low: histBound(match[1]!), high: histBound(match[2]!), count: Number(match[3]) };
}

function histBound(text: string): number {
  const unit = /[KMGTPE]$/.test(text) ? text.slice(-1) : '';
  return Number(unit === '' ? text : text.slice(0, -1)) * UNIT[unit]!;
}

const FRAME_EXPECTED =
  'a stack frame line (indented; "sym+off" or "0xADDR", or ustack(perf)\'s "ADDR sym+off (module)"; or a raw hex address)';

/** One frame line of either ustack mode (see the header); it must start with white space. */
export function parseFrame(line: string): PrintedFrame {
  const first = line.charCodeAt(0);
  if (UNWIND_FAILURE.test(line)) return { address: null, symbol: UNWIND_FAILURE_SYMBOL, module: null };
  if (first !== 0x20 && first !== 0x09) {
    if (RAW_FRAME.test(line)) return { address: BigInt(`0x${line}`), symbol: null, module: null };
    throw new Malformed(FRAME_EXPECTED);
  }
  const address = ADDRESS_FRAME.exec(line);
  if (address) return { address: BigInt(`0x${address[1]}`), symbol: null, module: null };
  const perf = PERF_FRAME.exec(line);
  if (perf) {
    const symbol = perf[2] === '' || /^0x[0-9a-f]+$/.test(perf[2]!) ? null : perf[2]!;
    const module = perf[3] === undefined || perf[3] === '[unknown]' ? null : perf[3];
    return { address: BigInt(`0x${perf[1]}`), symbol, module };
  }
  const symbol = line.trim();
  // bpftrace mode names every frame it can as sym+off; anything else in a stack is not a frame.
  if (symbol === '' || symbol.includes('\t')) throw new Malformed(FRAME_EXPECTED);
  return { address: null, symbol, module: null };
}

function parseScalar(text: string): BpftraceValue {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) return Number(trimmed);
  const tuple = /^\((.*)\)$/.exec(trimmed);
  if (tuple && tuple[1]!.split(',').every((part) => /^\s*-?\d+\s*$/.test(part))) {
    return tuple[1]!.split(',').map((part) => Number(part.trim()));
  }
  return trimmed;
}

function splitKey(text: string): string[] {
  return text.split(',').map((part) => part.trim());
}

/** A map and a hist record, as a dialect receives them. */
export type BpftraceMapRecord = Extract<BpftraceRecord, { type: 'map' }>;
export type BpftraceHistRecord = Extract<BpftraceRecord, { type: 'hist' }>;

/**
 * What one reader of bpftrace output (memtrace's malloc, faults, gc and calls programs; any map
 * dump) does with each kind of record; each case returns the events it has for its caller (E), or
 * nothing. A record a case throws Malformed for is the malformed line it came from. A case left out
 * is bpftrace's own output that the dialect has no use for (a banner, the maps printed at exit).
 */
export interface BpftraceDialect<E> {
  /** One line of printf text or of other text (a printf record of several lines: each line apart). `line` is the input line. */
  text(text: string, line: string): E[] | void;
  lost(events: number): E[] | void;
  attached?(probes: number): E[] | void;
  /** A JSON line of another type: bpftrace's (time, stats…) or memtrace's own records (readMemtraceRecord). */
  other?(type: string, data: unknown): E[] | void;
  hist?(record: BpftraceHistRecord): E[] | void;
  map?(record: BpftraceMapRecord): E[] | void;
}

/**
 * The line shell (line-shell.ts) over BpftraceOutputReader: push a line, get the dialect's events;
 * finish() at the end. Malformed lines, from the reader or from a dialect's case, are counted or
 * stop the read as the shell's options say.
 */
export class BpftraceShell<E> extends LineShell {
  readonly reader = new BpftraceOutputReader();

  constructor(
    options: LineShellOptions,
    private readonly dialect: BpftraceDialect<E>,
    counts?: LineCounts,
  ) {
    super(options, counts);
  }

  /** Reads the next line. */
  push(line: string): E[] {
    this.lineNumber += 1;
    return this.read(line);
  }

  /** Reads a line its caller has numbered already (a reader that reads some lines itself: bpftrace-maps.ts). */
  read(line: string): E[] {
    let records: BpftraceRecord[];
    try {
      records = this.reader.push(line);
    } catch (error) {
      this.malformed(error, line);
      return [];
    }
    return this.records(records, line);
  }

  /** Hands records to the dialect; a record it finds malformed is `line`'s. */
  records(records: BpftraceRecord[], line: string): E[] {
    const events: E[] = [];
    for (const record of records) events.push(...this.guard(line, () => this.record(record, line), []));
    return events;
  }

  /**
   * Ends the input: a multi-line record still open goes to the dialect (as line ''). Returns the
   * Malformed that says the input was cut inside a record (a stack key), or null; the dialect
   * judges it (truncated, or an error).
   */
  finish(): Malformed | null {
    let records: BpftraceRecord[];
    try {
      records = this.reader.finish();
    } catch (error) {
      if (error instanceof Malformed) return error;
      throw error;
    }
    this.records(records, '');
    return null;
  }

  private record(record: BpftraceRecord, line: string): E[] {
    const dialect = this.dialect;
    switch (record.type) {
      case 'attached':
        return dialect.attached?.(record.probes) ?? [];
      case 'lost':
        return dialect.lost(record.events) ?? [];
      case 'printf':
      case 'text': {
        const events: E[] = [];
        // Each line of text apart: one found malformed leaves the others read.
        for (const text of record.text.split('\n'))
          if (text !== '') events.push(...this.guard(line, () => dialect.text(text, line) ?? [], []));
        return events;
      }
      case 'other':
        return dialect.other?.(record.jsonType, record.data) ?? [];
      case 'hist':
        return dialect.hist?.(record) ?? [];
      case 'map':
        return dialect.map?.(record) ?? [];
    }
  }
}

/** What the raw results of memtrace's malloc and faults programs share: kept by MemtraceProgramShell. */
export interface MemtraceProgramRaw {
  attachedProbes: number | null;
  lostEvents: number;
  lines: LineCounts;
  memtrace: MemtraceRecords;
}

export function emptyProgramRaw(): MemtraceProgramRaw {
  return {
    attachedProbes: null,
    lostEvents: 0,
    lines: emptyLineCounts(),
    memtrace: emptyMemtraceRecords(),
  };
}

type ProgramEvent = { kind: 'attached'; probes: number } | { kind: 'lost'; events: number };

/**
 * The shell of a memtrace program that prints its results as maps (malloc, faults): the attach and
 * the losses are kept in `raw` and passed on for the live session, memtrace's own records of a raw
 * log in raw.memtrace (`check` refuses one of the wrong shape first); the dialect adds its text,
 * hist and map cases.
 */
export class MemtraceProgramShell<E> extends BpftraceShell<E | ProgramEvent> {
  constructor(
    options: LineShellOptions,
    raw: MemtraceProgramRaw,
    cases: Pick<BpftraceDialect<E>, 'text' | 'hist' | 'map'>,
    check?: (type: string, data: unknown) => void,
  ) {
    const attached = (probes: number): ProgramEvent[] => {
      raw.attachedProbes = probes;
      return [{ kind: 'attached', probes }];
    };
    const lost = (events: number): ProgramEvent[] => {
      raw.lostEvents += events;
      return [{ kind: 'lost', events }];
    };
    const other = (type: string, data: unknown): void => {
      check?.(type, data);
      // bpftrace's time/stats records carry nothing these programs' reports use.
      readMemtraceRecord(raw.memtrace, type, data);
    };
    super(options, { attached, lost, other, ...cases }, raw.lines);
  }

  /** Ends the input; true when it was cut inside a record. */
  end(): boolean {
    return this.finish() !== null;
  }
}
