// Parses the output of memtrace's malloc bpftrace program (src/probes/render-malloc-bpf.ts), live or
// from a saved log: bpftrace's JSON or text output, plus, in a raw log written by memtrace
// (--raw-out), memtrace's own JSON records (`memtrace_header`, `memtrace_maps`, `memtrace_symbols`,
// `memtrace_trailer`) that carry what a later `memtrace report` needs to name the frames.
//
// The program prints its maps once, between the lines `memtrace:end <ns>` and `memtrace:done`;
// bpftrace then prints the cleared maps again at exit, and those repeats are ignored. Maps printed before the end marker are
// the periodic status (--interval).
import {
  emptyProgramRaw,
  MemtraceProgramShell,
  type MemtraceProgramRaw,
  type BpftraceKey,
  type BpftraceHistRecord,
  type BpftraceMapRecord,
  type BpftraceValue,
  type PrintedFrame,
  addressValue,
  headerSaysDwarf,
  integerValue,
  returnAddressesOfUnwound,
} from './bpftrace-output.js';
import { Malformed } from './line-shell.js';
import {
  MALLOC_DONE_MARKER,
  MALLOC_END_MARKER,
  MALLOC_HOLD_MARKER,
  MALLOC_STATUS_MARKER,
  TIMELINE_TICK_END_MARKER,
  TIMELINE_TICK_MARKER,
} from '../probes/render-malloc-bpf.js';
import { TimelineRecorder, type RecordedSeries } from '../model/timeline.js';

export interface MallocRawStack {
  /** Leaf first, as walked; empty when the frame map was full. */
  frames: PrintedFrame[];
  allocs: number;
  bytes: number;
}

export interface MallocRawLiveBlock {
  address: bigint;
  size: number;
  bornNs: number;
  stackKey: string;
}

export interface MallocStatus {
  okAllocs: number;
  frees: number;
  liveBytes: number;
  liveFreedBytes: number;
}

/** The program's results; what every memtrace program shares (attach, losses, line counts, memtrace's records) is in MemtraceProgramRaw. */
export interface MallocRaw extends MemtraceProgramRaw {
  began: boolean;
  /** The program named in its begin line (`memtrace:begin malloc`, `memtrace:begin external`). */
  program: string | null;
  ended: boolean;
  endNs: number | null;
  calls: Map<string, number>;
  bytes: Map<string, number>;
  failed: Map<string, number>;
  freeNull: number;
  histogram: Array<{ low: number; high: number; count: number }>;
  okAllocs: number;
  okBytes: number;
  frees: number;
  truncated: number;
  /** Distinct stacks that hashed alike (their counts merged): shown, never hidden. */
  stackCollisions: number;
  liveAllocs: number;
  liveBytes: number;
  liveFrees: number;
  liveFreedBytes: number;
  stacks: Map<string, MallocRawStack>;
  live: MallocRawLiveBlock[];
  /** --timeline: the snapshots, thinned to bounded memory, by stack key; null without --timeline. */
  timeline: MallocRawTimeline | null;
}

export interface MallocRawTimeline {
  requestedIntervalSeconds: number;
  intervalSeconds: number;
  downsampleFactor: number;
  maxPoints: number;
  /** Snapshots printed, the end's included; a snapshot the log cut short is not among them. */
  snapshots: number;
  times: number[];
  series: RecordedSeries[];
}

export type MallocLogEvent =
  | { kind: 'attached'; probes: number }
  | { kind: 'hold'; pid: number }
  | { kind: 'status'; status: MallocStatus }
  /** The first --timeline snapshot began: the timeline's first point was one interval before. */
  | { kind: 'timeline-start'; intervalMs: number }
  | { kind: 'call'; line: string }
  | { kind: 'lost'; events: number };

export interface MallocLogParserOptions {
  /** Shown in errors: the file name, or `bpftrace` for a live stream. */
  source: string;
  /** Count malformed lines instead of failing on the first. */
  lenient?: boolean;
  /** The program unwound its stacks with dw_ustack (a raw log's header says so by itself). */
  dwarfStacks?: boolean;
}

export class MallocLogParser {
  readonly raw: MallocRaw = emptyMallocRaw();
  private readonly shell: MemtraceProgramShell<MallocLogEvent>;
  private inStatus = false;
  private status: MallocStatus = { okAllocs: 0, frees: 0, liveBytes: 0, liveFreedBytes: 0 };
  /** True between `memtrace:end` and `memtrace:done`: the only maps that are results. */
  private resultsOpen = false;
  private readonly liveStacks = new Map<bigint, PrintedFrame[]>();
  private timeline: TimelineRecorder | null = null;
  /** The snapshot being printed (between its tick marker and its end marker, or in the results). */
  private snapshot: { ns: number; allocated: Map<string, number>; freed: Map<string, number> } | null = null;
  /** The moment the trace began, in the program's clock: one interval before the first tick. */
  private originNs = 0;
  /** The interval and the last tick, in ns: where the end's snapshot may be placed at the latest. */
  private tickNs: number | null = null;
  private lastTickNs: number | null = null;
  private endedBeforeFirstTick = false;

  constructor(private readonly options: MallocLogParserOptions) {
    const cases = {
      text: (text: string) => this.handleText(text),
      hist: (record: BpftraceHistRecord) => {
        if (this.resultsOpen && record.name === '@size_hist') this.raw.histogram = record.buckets;
      },
      map: (record: BpftraceMapRecord) => this.handleMap(record.name, record.entries),
    };
    this.shell = new MemtraceProgramShell(
      { source: options.source, format: 'memtrace malloc output', lenient: options.lenient },
      this.raw,
      cases,
      checkMallocSymbols,
    );
  }

  /** Feeds one line; returns what the live session reacts to (attach, hold, status, per-call records). */
  push(line: string): MallocLogEvent[] {
    return this.shell.push(line);
  }

  /** Ends the input; returns the raw result. `truncated` is true when a record was cut off. */
  finish(): { raw: MallocRaw; truncated: boolean } {
    const truncated = this.shell.end();
    this.resolveStacks();
    this.raw.timeline = this.finishTimeline();
    if (this.options.dwarfStacks === true || headerSaysDwarf(this.raw.memtrace.header)) {
      for (const stack of this.raw.stacks.values()) stack.frames = returnAddressesOfUnwound(stack.frames);
    }
    return { raw: this.raw, truncated };
  }

  private handleText(text: string): MallocLogEvent[] {
    if (text.startsWith('memtrace:begin')) {
      this.raw.began = true;
      this.raw.program = /^memtrace:begin (\w+)$/.exec(text)?.[1] ?? null;
      return [];
    }
    if (text.startsWith(MALLOC_END_MARKER)) {
      this.raw.ended = true;
      this.inStatus = false;
      const ns = /^memtrace:end (\d+)$/.exec(text);
      this.raw.endNs = ns ? Number(ns[1]) : null;
      this.resultsOpen = true;
      return [];
    }
    if (text === MALLOC_DONE_MARKER) {
      this.resultsOpen = false;
      // The results' timeline maps are the last snapshot, at the end's moment.
      if (this.snapshot !== null) this.keepSnapshot();
      return [];
    }
    const tick = new RegExp(`^${TIMELINE_TICK_MARKER} (\\d+) (\\d+)$`).exec(text);
    if (tick) {
      const ns = Number(tick[1]);
      if (this.timeline === null) {
        const intervalMs = Number(tick[2]);
        this.timeline = new TimelineRecorder(intervalMs / 1000);
        this.originNs = ns - intervalMs * 1e6;
        this.tickNs = intervalMs * 1e6;
        this.snapshot = { ns, allocated: new Map(), freed: new Map() };
        this.lastTickNs = ns;
        return [{ kind: 'timeline-start', intervalMs }];
      }
      this.snapshot = { ns, allocated: new Map(), freed: new Map() };
      this.lastTickNs = ns;
      return [];
    }
    if (text === TIMELINE_TICK_END_MARKER) {
      if (this.snapshot === null) throw new Malformed(`${TIMELINE_TICK_MARKER} NS MS before ${TIMELINE_TICK_END_MARKER}`);
      this.keepSnapshot();
      return [];
    }
    if (text === MALLOC_STATUS_MARKER) {
      this.inStatus = true;
      return [];
    }
    const hold = new RegExp(`^${MALLOC_HOLD_MARKER} (\\d+)$`).exec(text);
    if (hold) return [{ kind: 'hold', pid: Number(hold[1]) }];
    if (/^[AF] /.test(text)) return [{ kind: 'call', line: text }];
    this.shell.foreign();
    return [];
  }

  private handleMap(name: string, entries: Array<{ key: BpftraceKey; value: BpftraceValue | PrintedFrame[] }>): MallocLogEvent[] {
    if (name === '@timeline_alloc' || name === '@timeline_freed') {
      this.addTimelineMap(name, entries);
      return [];
    }
    if (!this.raw.ended) return this.handleStatusMap(name, entries);
    if (!this.resultsOpen) return [];
    const raw = this.raw;
    for (const { key, value } of entries) {
      switch (name) {
        case '@calls':
        case '@bytes':
        case '@failed': {
          const target = name === '@calls' ? raw.calls : name === '@bytes' ? raw.bytes : raw.failed;
          target.set(keyText(key), (target.get(keyText(key)) ?? 0) + numberValue(value, name));
          break;
        }
        case '@free_null':
          raw.freeNull = numberValue(value, name);
          break;
        case '@ok_allocs':
          raw.okAllocs = numberValue(value, name);
          break;
        case '@ok_bytes':
          raw.okBytes = numberValue(value, name);
          break;
        case '@frees':
          raw.frees = numberValue(value, name);
          break;
        case '@truncated':
          raw.truncated = numberValue(value, name);
          break;
        case '@live_allocs':
          raw.liveAllocs = numberValue(value, name);
          break;
        case '@live_bytes':
          raw.liveBytes = numberValue(value, name);
          break;
        case '@live_frees':
          raw.liveFrees = numberValue(value, name);
          break;
        case '@live_freed_bytes':
          raw.liveFreedBytes = numberValue(value, name);
          break;
        case '@stack_allocs':
        case '@stack_bytes':
          this.addStack(name, key, value);
          break;
        case '@live':
          this.addLive(key, value);
          break;
        case '@stack_frames':
          this.addFrame(key, value);
          break;
        case '@stack_collisions':
          raw.stackCollisions = numberValue(value, name);
          break;
        case '@live_stack':
          this.liveStacks.set(addressKey(key, name), framesValue(value, name));
          break;
        default:
          break;
      }
    }
    return [];
  }

  /** A snapshot's map; in the results, the end's snapshot, once (bpftrace prints cleared maps again at exit). */
  private addTimelineMap(name: string, entries: Array<{ key: BpftraceKey; value: BpftraceValue | PrintedFrame[] }>): void {
    if (this.raw.ended) {
      if (!this.resultsOpen) return;
      this.snapshot ??= { ns: this.endSnapshotNs(), allocated: new Map(), freed: new Map() };
    }
    if (this.snapshot === null) throw new Malformed(`${name} inside a snapshot (after ${TIMELINE_TICK_MARKER} NS MS)`);
    const target = name === '@timeline_alloc' ? this.snapshot.allocated : this.snapshot.freed;
    for (const { key, value } of entries) {
      const stackKey = stackKeyFromMapKey(key, name);
      target.set(stackKey, (target.get(stackKey) ?? 0) + numberValue(value, name));
      if (key.kind === 'stack') {
        // A DWARF stack is its own key: the stack map may have lost it, the timeline has not.
        const stack = this.stackFor(stackKey);
        if (stack.frames.length === 0) stack.frames = key.frames;
      }
    }
  }

  /**
   * When the end's snapshot was taken, as far as the target's allocations go: the END line's time,
   * but no later than one interval after the last tick. Once an attached target exits, bpftrace
   * 0.17 detaches its probes for seconds before it runs END, with no tick in between and nothing
   * allocated (seen: 2 s); placed at END, the snapshot would make a leak look as if it had stopped.
   */
  private endSnapshotNs(): number {
    if (this.lastTickNs === null || this.tickNs === null) return this.raw.endNs ?? this.originNs;
    return Math.min(this.raw.endNs ?? Number.POSITIVE_INFINITY, this.lastTickNs + this.tickNs);
  }

  private keepSnapshot(): void {
    const snapshot = this.snapshot!;
    this.snapshot = null;
    if (this.timeline === null) {
      // The end's snapshot without a tick before it (a trace shorter than one interval): no moment
      // to place it at, so the timeline has its start alone.
      this.endedBeforeFirstTick = true;
      return;
    }
    this.timeline.add({ seconds: (snapshot.ns - this.originNs) / 1e9, allocated: snapshot.allocated, freed: snapshot.freed });
  }

  private finishTimeline(): MallocRawTimeline | null {
    if (this.timeline === null) {
      if (!this.endedBeforeFirstTick) return null;
      return { requestedIntervalSeconds: 0, intervalSeconds: 0, downsampleFactor: 1, maxPoints: 0, snapshots: 1, times: [0], series: [] };
    }
    const recorded = this.timeline.finish();
    return {
      requestedIntervalSeconds: this.timeline.requestedIntervalSeconds,
      intervalSeconds: recorded.intervalSeconds,
      downsampleFactor: recorded.downsampleFactor,
      maxPoints: this.timeline.maxPoints,
      snapshots: this.timeline.snapshotCount,
      times: recorded.times,
      series: recorded.series,
    };
  }

  private handleStatusMap(name: string, entries: Array<{ key: BpftraceKey; value: BpftraceValue | PrintedFrame[] }>): MallocLogEvent[] {
    if (!this.inStatus) return [];
    const value = entries[0] ? numberValue(entries[0].value, name) : 0;
    if (name === '@ok_allocs') this.status.okAllocs = value;
    else if (name === '@frees') this.status.frees = value;
    else if (name === '@live_bytes') this.status.liveBytes = value;
    else if (name === '@live_freed_bytes') {
      this.status.liveFreedBytes = value;
      this.inStatus = false;
      return [{ kind: 'status', status: { ...this.status } }];
    }
    return [];
  }

  private addStack(name: string, key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    const stack = this.stackFor(stackKeyFromMapKey(key, name));
    if (key.kind === 'stack') stack.frames = betterNamed(stack.frames, key.frames);
    if (name === '@stack_allocs') stack.allocs += numberValue(value, name);
    else stack.bytes += numberValue(value, name);
  }

  private stackFor(key: string): MallocRawStack {
    let stack = this.raw.stacks.get(key);
    if (stack === undefined) {
      stack = { frames: [], allocs: 0, bytes: 0 };
      this.raw.stacks.set(key, stack);
    }
    return stack;
  }

  /** @stack_frames[hash, depth] = return address: the frames of hashed stacks. */
  private addFrame(key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    if (key.kind !== 'values' || key.parts.length !== 2 || !key.parts.every((part) => /^\d+$/.test(part))) {
      throw new Malformed('@stack_frames keyed by (stack hash, depth)');
    }
    const frames = this.hashedFrames.get(key.parts[0]!) ?? [];
    frames.push({ depth: Number(key.parts[1]), address: addressValue(value, '@stack_frames') });
    this.hashedFrames.set(key.parts[0]!, frames);
  }

  private readonly hashedFrames = new Map<string, Array<{ depth: number; address: bigint }>>();

  private addLive(key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    const address = addressKey(key, '@live');
    if (!Array.isArray(value) || value.length < 2 || typeof value[0] !== 'number' || typeof value[1] !== 'number') {
      throw new Malformed('@live values as tuples (size, birth ns[, stack hash or stack])');
    }
    const [size, bornNs, stack] = value as [number, number, number | PrintedFrame[] | undefined];
    // In ustack mode the stack comes separately in @live_stack; its key is filled in by finish().
    // In frames mode the tuple holds the stack's hash; in dwarf mode, the stack itself.
    let stackKey = '';
    if (typeof stack === 'number') stackKey = `#${stack}`;
    else if (Array.isArray(stack)) {
      stackKey = stackKeyOf(stack);
      const known = this.stackFor(stackKey);
      if (known.frames.length === 0) known.frames = stack;
    }
    this.raw.live.push({ address, size, bornNs, stackKey });
  }

  /** Gives every stack its frames, and every live block a stack entry (even one the stack map lost). */
  private resolveStacks(): void {
    for (const block of this.raw.live) {
      if (block.stackKey === '') {
        const frames = this.liveStacks.get(block.address) ?? [];
        block.stackKey = stackKeyOf(frames);
        const stack = this.stackFor(block.stackKey);
        stack.frames = betterNamed(stack.frames, frames);
      } else {
        this.stackFor(block.stackKey);
      }
    }
    for (const [key, stack] of this.raw.stacks) {
      if (!key.startsWith('#')) continue;
      const frames = this.hashedFrames.get(key.slice(1)) ?? [];
      stack.frames = frames.sort((a, b) => a.depth - b.depth).map(({ address }) => ({ address, symbol: null, module: null }));
    }
  }
}

/**
 * Of two printings of one stack, the one bpftrace named more of: bpftrace names frames only while
 * the process lives, so a map printed after the target exited repeats a stack as `[unknown]`.
 */
function betterNamed(kept: PrintedFrame[], printed: PrintedFrame[]): PrintedFrame[] {
  const named = (frames: PrintedFrame[]) => frames.filter((frame) => frame.symbol !== null).length;
  return kept.length > 0 && named(kept) > named(printed) ? kept : printed;
}

/** Identity of a stack: its frames' addresses (names, for frames printed without one), leaf first. */
export function stackKeyOf(frames: readonly PrintedFrame[]): string {
  return frames.map((frame) => frame.address?.toString(16) ?? frame.symbol).join(',');
}

/** `#hash` for memtrace's hashed stacks; the addresses, leaf first, for stacks bpftrace printed. */
function stackKeyFromMapKey(key: BpftraceKey, name: string): string {
  if (key.kind === 'stack') return stackKeyOf(key.frames);
  if (key.kind === 'values' && key.parts.length === 1 && /^\d+$/.test(key.parts[0]!)) return `#${key.parts[0]}`;
  throw new Malformed(`${name} keyed by a stack or a stack hash`);
}

function addressKey(key: BpftraceKey, name: string): bigint {
  if (key.kind !== 'values' || key.parts.length !== 1 || !/^\d+$/.test(key.parts[0]!)) {
    throw new Malformed(`${name} keyed by a decimal address`);
  }
  return BigInt(key.parts[0]!);
}

function keyText(key: BpftraceKey): string {
  if (key.kind !== 'values') throw new Malformed('a function name as the key');
  return key.parts.join(',');
}

const numberValue = integerValue;

function framesValue(value: BpftraceValue | PrintedFrame[], name: string): PrintedFrame[] {
  if (!Array.isArray(value) || (value.length > 0 && typeof value[0] !== 'object')) {
    throw new Malformed(`a stack as the value of ${name}`);
  }
  return value as PrintedFrame[];
}

/** A malloc log's symbols record names frames by hex address (a faults log's has another shape). */
export function checkMallocSymbols(type: string, data: unknown): void {
  if (type !== 'memtrace_symbols') return;
  if (typeof data !== 'object' || data === null) throw new Malformed('memtrace_symbols data as an object');
  for (const [address, name] of Object.entries(data)) {
    if (
      !/^[0-9a-f]{1,16}$/.test(address) ||
      typeof name !== 'object' ||
      name === null ||
      typeof (name as { name?: unknown }).name !== 'string'
    ) {
      throw new Malformed('memtrace_symbols keyed by hex addresses, each with a name');
    }
  }
}

/** A MallocRaw with nothing in it yet: what every malloc log reader (bpftrace's, dtrace's) starts from. */
export function emptyMallocRaw(): MallocRaw {
  return {
    began: false,
    program: null,
    ended: false,
    endNs: null,
    calls: new Map(),
    bytes: new Map(),
    failed: new Map(),
    freeNull: 0,
    histogram: [],
    okAllocs: 0,
    okBytes: 0,
    frees: 0,
    truncated: 0,
    stackCollisions: 0,
    liveAllocs: 0,
    liveBytes: 0,
    liveFrees: 0,
    liveFreedBytes: 0,
    stacks: new Map(),
    live: [],
    timeline: null,
    ...emptyProgramRaw(),
  };
}
