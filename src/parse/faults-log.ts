// Parses the output of memtrace's faults bpftrace program (src/probes/render-faults-bpf.ts), live or
// from a saved log: bpftrace's JSON or text output, plus, in a raw log written by memtrace
// (--raw-out), memtrace's own JSON records (`memtrace_header`, `memtrace_maps`, `memtrace_symbols`,
// `memtrace_trailer`).
//
// The program prints its maps once, between `memtrace:end <ns>` and `memtrace:done`; bpftrace then
// prints the cleared maps again at exit, and those repeats are ignored. Example (text form):
//   Attaching 9 probes...
//   memtrace:begin faults
//   memtrace:end 3375828790825
//   @faults: 434
//   @fault_kinds[2]: 434
//   @stack_faults[7948799223285439]: 37
//   @stack_mmap_bytes[5620813664163716]: 151552
//   @stack_frames[7948799223285439, 0]: 94470399443556
//   memtrace:done
import {
  emptyProgramRaw,
  MemtraceProgramShell,
  UNWIND_FAILURE_SYMBOL,
  type MemtraceProgramRaw,
  addressValue,
  headerSaysDwarf,
  integerValue,
  type BpftraceKey,
  type BpftraceValue,
  type PrintedFrame,
} from './bpftrace-output.js';
import { Malformed, memtraceHeaderOf } from './line-shell.js';
import { stackKeyOf } from './malloc-log.js';
import { FAULTS_BEGIN_MARKER, FAULTS_DONE_MARKER, FAULTS_END_MARKER, FAULTS_HOLD_MARKER } from '../probes/render-faults-bpf.js';

/** The frames of one walked stack, as the program stored them. */
export interface FaultsRawFrames {
  /** The faulting (or calling) instruction: not a return address. Null when the frame map was full. */
  leaf: bigint | null;
  /** The word at the stack pointer: the caller of a frameless leaf, or any other value. */
  candidate: bigint | null;
  /** Return addresses along the frame-pointer chain, innermost first. */
  callers: bigint[];
  /** DWARF mode: bpftrace's unwinder stopped after the last caller (`<unwind failure>`). */
  unwindStopped?: boolean;
}

export interface FaultsRawStack {
  frames: FaultsRawFrames;
  faults: number;
  residentBytes: number;
  brkBytes: number;
  mmapBytes: number;
}

export interface FaultsRaw extends MemtraceProgramRaw {
  began: boolean;
  ended: boolean;
  /** The `memtrace:done` line came: every result map was printed. */
  complete: boolean;
  endNs: number | null;
  faults: number;
  /** Faults by the x86 error-code bits P (1), W (2) and I (0x10). */
  faultKinds: Map<number, number>;
  residentBytes: number;
  brkCalls: number;
  brkBytes: number;
  brkShrinkBytes: number;
  mmapCalls: number;
  mmapFailed: number;
  mmapBytes: number;
  munmapCalls: number;
  munmapBytes: number;
  truncated: number;
  stackCollisions: number;
  registerMismatches: number;
  stacks: Map<string, FaultsRawStack>;
}

export type FaultsLogEvent = { kind: 'attached'; probes: number } | { kind: 'hold'; pid: number } | { kind: 'lost'; events: number };

export interface FaultsLogParserOptions {
  /** Shown in errors: the file name, or `bpftrace` for a live stream. */
  source: string;
  lenient?: boolean;
  /** The program unwound its stacks with dw_ustack (a raw log's header says so by itself). */
  dwarfStacks?: boolean;
}

const TOTALS: Record<string, keyof FaultsRaw> = {
  '@faults': 'faults',
  '@resident_bytes': 'residentBytes',
  '@brk_calls': 'brkCalls',
  '@brk_bytes': 'brkBytes',
  '@brk_shrink_bytes': 'brkShrinkBytes',
  '@mmap_calls': 'mmapCalls',
  '@mmap_failed': 'mmapFailed',
  '@mmap_bytes': 'mmapBytes',
  '@munmap_calls': 'munmapCalls',
  '@munmap_bytes': 'munmapBytes',
  '@truncated': 'truncated',
  '@stack_collisions': 'stackCollisions',
  '@regs_mismatch': 'registerMismatches',
};

const STACK_VALUES: Record<string, 'faults' | 'residentBytes' | 'brkBytes' | 'mmapBytes'> = {
  '@stack_faults': 'faults',
  '@stack_resident_bytes': 'residentBytes',
  '@stack_brk_bytes': 'brkBytes',
  '@stack_mmap_bytes': 'mmapBytes',
};

export class FaultsLogParser {
  readonly raw: FaultsRaw = emptyFaultsRaw();
  private readonly shell: MemtraceProgramShell<FaultsLogEvent>;
  private resultsOpen = false;
  private readonly frames = new Map<string, Map<number, bigint>>();

  constructor(private readonly options: FaultsLogParserOptions) {
    this.shell = new MemtraceProgramShell(
      { source: options.source, format: 'memtrace faults output', lenient: options.lenient },
      this.raw,
      {
        text: (text) => this.handleText(text),
        map: (record) => {
          if (this.resultsOpen) for (const entry of record.entries) this.handleEntry(record.name, entry.key, entry.value);
        },
      },
    );
  }

  push(line: string): FaultsLogEvent[] {
    return this.shell.push(line);
  }

  /** Ends the input; `truncated` is true when a multi-line record was cut off. */
  finish(): { raw: FaultsRaw; truncated: boolean } {
    const truncated = this.shell.end();
    const dwarf = this.options.dwarfStacks === true || headerSaysDwarf(this.raw.memtrace.header);
    for (const [key, stack] of this.raw.stacks) {
      if (stack.frames.leaf !== null) {
        // Unwound by the tracer (DWARF mode): its callers are call sites, read back to return addresses.
        if (dwarf) stack.frames = { ...stack.frames, callers: stack.frames.callers.map((address) => address + 1n) };
        continue;
      }
      const byDepth = this.frames.get(key) ?? new Map<number, bigint>();
      const callers: bigint[] = [];
      // The chain starts at depth 2 and is contiguous: a gap would mean a lost map entry.
      for (let depth = 2; byDepth.has(depth); depth++) callers.push(byDepth.get(depth)!);
      const candidate = byDepth.get(1) ?? null;
      stack.frames = { leaf: byDepth.get(0) ?? null, candidate: candidate === 0n ? null : candidate, callers };
    }
    return { raw: this.raw, truncated };
  }

  private handleText(text: string): FaultsLogEvent[] {
    if (text === FAULTS_BEGIN_MARKER) {
      this.raw.began = true;
      return [];
    }
    const end = new RegExp(`^${FAULTS_END_MARKER} (\\d+)$`).exec(text);
    if (end) {
      this.raw.ended = true;
      this.raw.endNs = Number(end[1]);
      this.resultsOpen = true;
      return [];
    }
    if (text === FAULTS_DONE_MARKER) {
      this.resultsOpen = false;
      this.raw.complete = this.raw.ended;
      return [];
    }
    const hold = new RegExp(`^${FAULTS_HOLD_MARKER} (\\d+)$`).exec(text);
    if (hold) return [{ kind: 'hold', pid: Number(hold[1]) }];
    this.shell.foreign();
    return [];
  }

  private handleEntry(name: string, key: BpftraceKey, value: BpftraceValue | PrintedFrame[]): void {
    const total = TOTALS[name];
    if (total !== undefined) {
      (this.raw[total] as number) = numberValue(value, name);
      return;
    }
    const stackValue = STACK_VALUES[name];
    if (stackValue !== undefined) {
      if (key.kind === 'stack') {
        // DWARF mode: the stack itself is the key (dw_ustack(raw)), the faulting address first.
        const stack = this.stackFor(stackKeyOf(key.frames));
        if (stack.frames.leaf === null) stack.frames = unwoundFrames(key.frames);
        stack[stackValue] += numberValue(value, name);
        return;
      }
      const hash = hashKey(key, name, 1)[0]!;
      this.stackFor(hash)[stackValue] += numberValue(value, name);
      return;
    }
    if (name === '@fault_kinds') {
      const [code] = hashKey(key, name, 1);
      this.raw.faultKinds.set(Number(code), numberValue(value, name));
      return;
    }
    if (name === '@stack_frames') {
      const [hash, depth] = hashKey(key, name, 2);
      const byDepth = this.frames.get(hash!) ?? new Map<number, bigint>();
      byDepth.set(Number(depth), addressValue(value, name));
      this.frames.set(hash!, byDepth);
    }
    // Other maps (a hand-edited script's own) carry nothing the report reads.
  }

  private stackFor(hash: string): FaultsRawStack {
    let stack = this.raw.stacks.get(hash);
    if (stack === undefined) {
      stack = { frames: { leaf: null, candidate: null, callers: [] }, faults: 0, residentBytes: 0, brkBytes: 0, mmapBytes: 0 };
      this.raw.stacks.set(hash, stack);
    }
    return stack;
  }
}

/** Whether the head of a log is the faults program's output (a raw log names the tool in its header). */
export function looksLikeFaultsLog(head: string): boolean {
  return /^memtrace:begin faults$|"data": ?"memtrace:begin faults\\n"/m.test(head) || memtraceHeaderOf(head)?.tool === 'faults';
}

/** A stack bpftrace unwound: the leaf, then its callers (return addresses); no candidate word. */
function unwoundFrames(frames: PrintedFrame[]): FaultsRawFrames {
  const addresses = frames.flatMap((frame) => (frame.address === null ? [] : [frame.address]));
  const unwound: FaultsRawFrames = { leaf: addresses[0] ?? null, candidate: null, callers: addresses.slice(1) };
  return frames.at(-1)?.symbol === UNWIND_FAILURE_SYMBOL ? { ...unwound, unwindStopped: true } : unwound;
}

function hashKey(key: BpftraceKey, name: string, parts: number): string[] {
  if (key.kind !== 'values' || key.parts.length !== parts || !key.parts.every((part) => /^\d+$/.test(part))) {
    throw new Malformed(parts === 1 ? `${name} keyed by a decimal number` : `${name} keyed by (stack hash, depth)`);
  }
  return key.parts;
}

const numberValue = integerValue;

export function emptyFaultsRaw(): FaultsRaw {
  return {
    began: false,
    ended: false,
    complete: false,
    endNs: null,
    faults: 0,
    faultKinds: new Map(),
    residentBytes: 0,
    brkCalls: 0,
    brkBytes: 0,
    brkShrinkBytes: 0,
    mmapCalls: 0,
    mmapFailed: 0,
    mmapBytes: 0,
    munmapCalls: 0,
    munmapBytes: 0,
    truncated: 0,
    stackCollisions: 0,
    registerMismatches: 0,
    stacks: new Map(),
    ...emptyProgramRaw(),
  };
}
