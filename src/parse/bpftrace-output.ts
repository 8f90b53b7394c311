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
// Lines that are neither (a launched target's own output, printf text) come out as `text` records.

export type BpftraceValue = number | number[] | string;

/** One frame of a bpftrace-printed stack (`ustack(perf)` prints address, symbol+offset and module). */
export interface PrintedFrame {
  address: bigint;
  symbol: string | null;
  module: string | null;
}

export type BpftraceKey = { kind: 'none' } | { kind: 'values'; parts: string[] } | { kind: 'stack'; frames: PrintedFrame[] };

export type BpftraceRecord =
  | { type: 'attached'; probes: number }
  | { type: 'printf'; text: string }
  | { type: 'map'; name: string; entries: Array<{ key: BpftraceKey; value: BpftraceValue | PrintedFrame[] }> }
  | { type: 'hist'; name: string; buckets: Array<{ low: number; high: number; count: number }> }
  | { type: 'lost'; events: number }
  /** A JSON line of another type (time, stats, or memtrace's own records in a raw log). */
  | { type: 'other'; jsonType: string; data: unknown }
  | { type: 'text'; text: string };

/** Thrown for a line that is bpftrace output but broken; the caller adds file and line number. */
export class MalformedLine extends Error {
  constructor(readonly expected: string) {
    super(expected);
  }
}

const ATTACHING = /^Attaching (\d+) probes?\.\.\.$/;
const LOST = /^Lost (\d+) events$/;
const MAP_LINE = /^(@[A-Za-z0-9_]*)(?:\[(.*)\])?: ?(.*)$/;
const MAP_STACK_KEY_START = /^(@[A-Za-z0-9_]*)\[$/;
const STACK_KEY_END = /^\]: (.+)$/;
const HIST_LINE = /^\[(-?[0-9.]+[KMGTPE]?), ?(-?[0-9.]+[KMGTPE]?)[\])]\s+(\d+) \|/;
const HIST_SINGLE = /^\[(-?\d+)\]\s+(\d+) \|/;
const FRAME_LINE = /^\s+([0-9a-f]+)(?: (.*?))?(?: \((.*)\))?$/;

/**
 * A line-at-a-time state machine: push each line, collect the records it completes.
 * Text-form maps with multi-line keys or values span several lines; `finish()` flushes the last one.
 */
export class BpftraceOutputReader {
  private state:
    | { kind: 'idle' }
    | { kind: 'stack-key'; name: string; frames: PrintedFrame[] }
    | { kind: 'stack-value'; name: string; key: BpftraceKey; frames: PrintedFrame[] }
    | { kind: 'hist'; name: string; buckets: Array<{ low: number; high: number; count: number }> } = { kind: 'idle' };

  /** Returns the records this line completes (maybe none, maybe the previous multi-line one). */
  push(rawLine: string): BpftraceRecord[] {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('{')) return [...this.flush(), parseJsonLine(line)];
    switch (this.state.kind) {
      case 'stack-key': {
        const end = STACK_KEY_END.exec(line);
        if (end) {
          const record = mapRecord(this.state.name, { kind: 'stack', frames: this.state.frames }, parseScalar(end[1]!));
          this.state = { kind: 'idle' };
          return [record];
        }
        this.state.frames.push(parseFrame(line));
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
      this.state = { kind: 'stack-key', name: stackKey[1]!, frames: [] };
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

  private flush(): BpftraceRecord[] {
    const state = this.state;
    this.state = { kind: 'idle' };
    switch (state.kind) {
      case 'hist':
        return [{ type: 'hist', name: state.name, buckets: state.buckets }];
      case 'stack-value':
        return [mapRecord(state.name, state.key, state.frames)];
      case 'stack-key':
        throw new MalformedLine(`the end of the stack key of ${state.name} ("]: value"), but the input ended`);
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
    throw new MalformedLine('a complete JSON object (bpftrace -f json output)');
  }
  if (typeof object !== 'object' || object === null || typeof (object as { type?: unknown }).type !== 'string') {
    throw new MalformedLine('a JSON object with a "type" field');
  }
  const { type, data } = object as { type: string; data: unknown };
  switch (type) {
    case 'attached_probes':
      return { type: 'attached', probes: Number((data as { probes?: unknown })?.probes ?? 0) };
    case 'printf':
      if (typeof data !== 'string') throw new MalformedLine('printf data as a string');
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
  if (typeof data !== 'object' || data === null) throw new MalformedLine(`${what} data as an object`);
  const entries = Object.entries(data);
  if (entries.length !== 1 || !entries[0]![0].startsWith('@')) throw new MalformedLine(`${what} data with one @map`);
  return entries[0]!;
}

function parseJsonMap(data: unknown): BpftraceRecord {
  const [name, value] = singleEntry(data, 'map');
  if (typeof value === 'number' || Array.isArray(value)) {
    return { type: 'map', name, entries: [{ key: { kind: 'none' }, value: checkValue(value) }] };
  }
  if (typeof value !== 'object' || value === null) throw new MalformedLine(`a number, tuple or keyed object for ${name}`);
  const entries = Object.entries(value).map(([keyText, entryValue]) => ({
    key: keyText.includes('\n')
      ? ({ kind: 'stack', frames: keyText.split('\n').filter((part) => part.trim() !== '').map(parseFrame) } as const)
      : ({ kind: 'values', parts: keyText.split(',') } as const),
    value: typeof entryValue === 'string' && entryValue.includes('\n')
      ? entryValue.split('\n').filter((part) => part.trim() !== '').map(parseFrame)
      : checkValue(entryValue),
  }));
  return { type: 'map', name, entries };
}

function checkValue(value: unknown): BpftraceValue {
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'number')) return value as number[];
  throw new MalformedLine('a map value that is a number, a string or a tuple of numbers');
}

function parseJsonHist(data: unknown): BpftraceRecord {
  const [name, value] = singleEntry(data, 'hist');
  if (!Array.isArray(value)) throw new MalformedLine(`an array of buckets for ${name}`);
  const buckets: Array<{ low: number; high: number; count: number }> = [];
  for (const bucket of value as unknown[]) {
    const { min, max, count } = (bucket ?? {}) as { min?: unknown; max?: unknown; count?: unknown };
    if (typeof count !== 'number') throw new MalformedLine(`buckets with a numeric count in ${name}`);
    // bpftrace prints inclusive bounds in JSON ([16, 31]); the model uses [low, high).
    let low = typeof min === 'number' ? min : 0;
    let high = typeof max === 'number' ? max + 1 : low + 1;
    const previous = buckets.at(-1);
    if ((low < 0 || high <= low) && previous !== undefined && previous.low >= 0) {
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

function parseHistLine(line: string): { low: number; high: number; count: number } | null {
  const single = HIST_SINGLE.exec(line);
  if (single) return { low: Number(single[1]), high: Number(single[1]) + 1, count: Number(single[2]) };
  const match = HIST_LINE.exec(line);
  if (!match) return null;
  return { low: histBound(match[1]!), high: histBound(match[2]!), count: Number(match[3]) };
}

function histBound(text: string): number {
  const unit = /[KMGTPE]$/.test(text) ? text.slice(-1) : '';
  return Number(unit === '' ? text : text.slice(0, -1)) * UNIT[unit]!;
}

function parseFrame(line: string): PrintedFrame {
  const match = FRAME_LINE.exec(line);
  if (!match) throw new MalformedLine('a stack frame line (hex address, optional symbol, optional "(module)")');
  const symbol = match[2] === undefined || match[2] === '' || /^0x[0-9a-f]+$/.test(match[2]) ? null : match[2];
  const module = match[3] === undefined || match[3] === '[unknown]' ? null : match[3];
  return { address: BigInt(`0x${match[1]}`), symbol, module };
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
