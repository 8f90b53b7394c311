// Parses the output of memtrace's malloc D program (src/probes/render-malloc-d.ts, also
// scripts/dtrace/malloc.d run by hand) into the same MallocRaw the bpftrace parser produces, so that
// one reducer and one set of reports serve both tracers. Streaming: push() one line at a time;
// memory holds the blocks still live and the distinct stacks.
//
// The program's lines (tab-separated; stacks as DTrace prints them: a newline, then one frame a
// line, closed here by a blank line. The ustack() action indents each frame by 14 spaces (the
// stackindent option); printa()'s %k does not indent at all (libdtrace's pfprint_stack sets
// stackindent to 0 unless the field is left-aligned, %-14k), as DTrace for Linux 2.0.7 printed it
// here; the same code is in illumos's libdtrace, which macOS's derives from):
//   memtrace:begin malloc
//   A	7fb1c8c05a30	1024	88812930004417          a block is born: hex address, size, timestamp
//                 prog`make_block+0x1d
//                 prog`main+0x4a
//   (blank)
//   F	7fb1c8c05a30                               a block born during the trace is freed
//   memtrace:end 88813102551920
//   calls	malloc	72     bytes	malloc	73728     failed	malloc	2
//   free_null	3   ok_allocs	70   ok_bytes	73728   frees	79
//   live_allocs	70   live_frees	41   live_freed_bytes	41984
//   stack	29	29696                               allocations and bytes by stack, then its frames
//   prog`make_block+0x1d                           (unindented)
//   size_hist                                      then printa()'s quantize() block
//   memtrace:done
// A frame prints as `module`function+0xoff` (named by DTrace while the target lived), `module`0xaddr`
// (no symbol covers it: glibc's local __libc_start_call_main), `0xaddr` (the target had exited), or,
// under DTrace for Linux's noresolve option (render-malloc-d.ts, frames: 'addresses'),
// `module:0xoff`, the offset in the mapping that holds it. The same stack can print differently
// while the target lives and after, so the stacks are keyed by frame at finish(), once the caller
// can place `module:0xoff` frames at their addresses (from the maps it read): then a stack is the
// same key however it printed.
// dtrace's own notices (`dtrace: 12 drops on CPU 0`) are counted (dtrace-notices.ts); memtrace's
// JSON records in a --raw-out log (`{"type": "memtrace_header", …}`) are kept for the report.
import type { PrintedFrame } from './bpftrace-output.js';
import { dtraceFrameName, isDtraceFrameLine, isPrintedDtraceFrame } from './dtrace-aggregation.js';
import { isDtraceAnnotationLine } from './dtrace-helper-frames.js';
import { countDtraceNotice, droppedEvents, emptyDtraceNotices, type DtraceNotices } from './dtrace-notices.js';
import { LineShell, Malformed, memtraceHeaderOf, readMemtraceRecord, type LineCounts } from './line-shell.js';
import { checkMallocSymbols, emptyMallocRaw, type MallocRaw, type MallocRawStack } from './malloc-log.js';
import { MALLOC_DONE_MARKER, MALLOC_END_MARKER } from '../probes/render-malloc-bpf.js';
import { D_PID_MARKER } from '../probes/render-malloc-d.js';

export const MALLOC_DTRACE_FORMAT = "memtrace's DTrace malloc output";

const SCALARS = {
  free_null: 'freeNull',
  ok_allocs: 'okAllocs',
  ok_bytes: 'okBytes',
  frees: 'frees',
  live_allocs: 'liveAllocs',
  live_frees: 'liveFrees',
  live_freed_bytes: 'liveFreedBytes',
} as const satisfies Record<string, keyof MallocRaw>;

const DISTRIBUTION_HEADER = /^\s+value\s+-+ Distribution -+ count\s*$/;
const DISTRIBUTION_ROW = /^\s*(-?\d+)\s+\|[@ |]*\s(\d+)\s*$/;

type State =
  | { kind: 'idle' }
  | { kind: 'alloc'; address: bigint; size: number; bornNs: number; frames: string[] }
  | { kind: 'stack'; allocs: number; bytes: number; frames: string[] }
  | { kind: 'histogram'; header: boolean };

/** Places a `module:0xoff` frame (noresolve) at its address in the target, or null when its maps do not say. */
export type PlaceDtraceFrame = (module: string, offset: bigint) => bigint | null;

export interface MallocDtraceParserOptions {
  source: string;
  lenient?: boolean;
}

export class MallocDtraceParser {
  readonly notices: DtraceNotices = emptyDtraceNotices();
  private readonly raw: MallocRaw = emptyMallocRaw();
  private readonly live = new Map<bigint, { size: number; bornNs: number; stackKey: string }>();
  private state: State = { kind: 'idle' };
  private pid: number | null = null;
  private readonly shell: LineShell;
  private resultsOpen = false;
  /** Frees of blocks whose birth record was lost (a drop): they cannot be matched. */
  unmatchedFrees = 0;

  constructor(options: MallocDtraceParserOptions) {
    this.shell = new LineShell({ ...options, format: MALLOC_DTRACE_FORMAT }, this.raw.lines);
  }

  push(line: string): void {
    this.shell.line(
      line,
      (read) => this.handle(read),
      undefined,
      () => {
        this.state = { kind: 'idle' };
      },
    );
  }

  /** A line of dtrace's standard error, live: only its notices matter here. */
  pushNotice(line: string): void {
    countDtraceNotice(line, this.notices);
  }

  /** The target's maps a raw log recorded (its last memtrace_maps record), for placing frames. */
  get recordedMaps(): unknown {
    return this.raw.memtrace.maps.at(-1);
  }

  /** Malformed lines (lenient) and lines that were none of the program's records (a launched command's own output, in a hand-run log). */
  get lines(): LineCounts {
    return this.raw.lines;
  }

  /** The traced process, as the program's `memtrace:pid PID` line said (frames: 'addresses'). */
  get targetPid(): number | null {
    return this.pid;
  }

  /**
   * The parsed output. `place` turns `module:0xoff` frames into addresses; without it (no maps: a
   * log read on another machine without memtrace's records) they stay as printed.
   */
  finish(place: PlaceDtraceFrame = () => null): { raw: MallocRaw; truncated: boolean } {
    let truncated = false;
    if (this.state.kind === 'alloc') this.endAlloc(this.state);
    else if (this.state.kind === 'stack') truncated = true;
    this.state = { kind: 'idle' };
    // Printed text → the stack's key by frame: `0x55…2b4`, `libc.so.6`0x7f…24a` and `prog:0x2b4` of one address are one frame.
    const keys = new Map<string, string>();
    const keyOf = (printed: string): string => {
      let key = keys.get(printed);
      if (key === undefined) {
        key =
          printed === ''
            ? ''
            : printed
                .split('\n')
                .map((line) => frameKey(parseDtraceFrame(line, place)))
                .join('\n');
        keys.set(printed, key);
      }
      return key;
    };
    const stacks = new Map<string, MallocRawStack>();
    for (const [printed, stack] of this.raw.stacks) {
      const key = keyOf(printed);
      const merged = stacks.get(key) ?? { frames: framesOf(printed, place), allocs: 0, bytes: 0 };
      merged.allocs += stack.allocs;
      merged.bytes += stack.bytes;
      stacks.set(key, merged);
    }
    this.raw.stacks = stacks;
    for (const [address, block] of this.live) {
      const stackKey = keyOf(block.stackKey);
      this.raw.live.push({ address, ...block, stackKey });
      // Every live block has a stack entry, even one whose allocations fell outside the stack counts.
      if (!this.raw.stacks.has(stackKey)) this.raw.stacks.set(stackKey, { frames: framesOf(block.stackKey, place), allocs: 0, bytes: 0 });
    }
    this.raw.lostEvents = droppedEvents(this.notices);
    return { raw: this.raw, truncated };
  }

  private handle(line: string): void {
    const state = this.state;
    if (state.kind === 'alloc' || state.kind === 'stack') {
      // printa's %k frames come unindented (see the header); the ustack() action's are indented.
      if (isDtraceFrameLine(line) || (state.kind === 'stack' && isPrintedDtraceFrame(line))) {
        state.frames.push(line.trim());
        return;
      }
      if (state.kind === 'alloc') this.endAlloc(state);
      else this.endStack(state);
      this.state = { kind: 'idle' };
      if (line.trim() === '') return;
    } else if (state.kind === 'histogram') {
      if (this.inHistogram(state, line)) return;
    }
    if (line.trim() === '') return;
    if (countDtraceNotice(line, this.notices)) return;
    if (line.startsWith('{')) return this.memtraceRecord(line);
    const fields = line.split('\t');
    switch (fields[0]) {
      case 'A':
        return this.startAlloc(fields);
      case 'F':
        return this.free(fields);
      case 'calls':
      case 'bytes':
      case 'failed':
        return this.keyed(fields);
      case 'stack':
        this.requireResults(line);
        this.state = {
          kind: 'stack',
          allocs: integer(fields[1], 'stack ALLOCS BYTES'),
          bytes: integer(fields[2], 'stack ALLOCS BYTES'),
          frames: [],
        };
        if (fields.length !== 3) throw new Malformed('stack<TAB>ALLOCS<TAB>BYTES');
        return;
      case 'size_hist':
        this.requireResults(line);
        this.state = { kind: 'histogram', header: false };
        return;
      default:
        break;
    }
    if (fields.length === 2 && Object.hasOwn(SCALARS, fields[0]!)) {
      this.requireResults(line);
      this.raw[SCALARS[fields[0] as keyof typeof SCALARS]] = integer(fields[1], `${fields[0]}<TAB>N`);
      return;
    }
    if (line.startsWith('memtrace:begin')) {
      this.raw.began = true;
      return;
    }
    if (line.startsWith(`${D_PID_MARKER} `)) {
      const pid = /^memtrace:pid ([1-9]\d{0,9})$/.exec(line);
      if (!pid) throw new Malformed(`${D_PID_MARKER} PID`);
      this.pid = Number(pid[1]);
      return;
    }
    if (line.startsWith(MALLOC_END_MARKER)) {
      const ns = /^memtrace:end (\d+)$/.exec(line);
      if (!ns) throw new Malformed('memtrace:end NS');
      this.raw.ended = true;
      this.raw.endNs = Number(ns[1]);
      this.resultsOpen = true;
      return;
    }
    if (line === MALLOC_DONE_MARKER) {
      this.resultsOpen = false;
      return;
    }
    // Python's ustack helper annotates frames on macOS/illumos only; this program's stacks were never recorded with one.
    if (isDtraceAnnotationLine(line))
      throw new Malformed(
        "stack frames: ustack helper annotations ([ FILE:LINE (FUNCTION) ]) are read in printed aggregations (memtrace report), not yet in this program's stacks",
      );
    if (/^\s/.test(line)) throw new Malformed('a stack frame only after an A or stack line');
    // A launched command's own output, in a log of `dtrace -c`.
    this.shell.foreign();
  }

  private startAlloc(fields: string[]): void {
    if (fields.length !== 4 || !/^[0-9a-f]{1,16}$/.test(fields[1]!))
      throw new Malformed('A<TAB>HEX ADDRESS<TAB>SIZE<TAB>NS, then the stack');
    this.state = {
      kind: 'alloc',
      address: BigInt(`0x${fields[1]}`),
      size: integer(fields[2], 'A size'),
      bornNs: integer(fields[3], 'A timestamp'),
      frames: [],
    };
  }

  private endAlloc(state: Extract<State, { kind: 'alloc' }>): void {
    this.live.set(state.address, { size: state.size, bornNs: state.bornNs, stackKey: state.frames.join('\n') });
  }

  private free(fields: string[]): void {
    if (fields.length !== 2 || !/^[0-9a-f]{1,16}$/.test(fields[1]!)) throw new Malformed('F<TAB>HEX ADDRESS');
    if (!this.live.delete(BigInt(`0x${fields[1]}`))) this.unmatchedFrees += 1;
  }

  private keyed(fields: string[]): void {
    if (fields.length !== 3 || fields[1] === '') throw new Malformed(`${fields[0]}<TAB>FUNCTION<TAB>N`);
    this.requireResults(fields.join('\t'));
    const target = fields[0] === 'calls' ? this.raw.calls : fields[0] === 'bytes' ? this.raw.bytes : this.raw.failed;
    target.set(fields[1]!, (target.get(fields[1]!) ?? 0) + integer(fields[2], `${fields[0]} N`));
  }

  private endStack(state: Extract<State, { kind: 'stack' }>): void {
    const key = state.frames.join('\n');
    // Keyed by the printed text until finish() keys it by frame.
    const stack: MallocRawStack = this.raw.stacks.get(key) ?? { frames: [], allocs: 0, bytes: 0 };
    stack.allocs += state.allocs;
    stack.bytes += state.bytes;
    this.raw.stacks.set(key, stack);
  }

  /** printa()'s quantize block: a blank line, the header, rows, a blank line. True when the line was its. */
  private inHistogram(state: Extract<State, { kind: 'histogram' }>, line: string): boolean {
    if (!state.header) {
      if (line.trim() === '') return true;
      if (DISTRIBUTION_HEADER.test(line)) {
        state.header = true;
        return true;
      }
      // No allocation was counted: printa printed nothing for the empty aggregation.
      this.state = { kind: 'idle' };
      return false;
    }
    if (line.trim() === '') {
      this.state = { kind: 'idle' };
      return true;
    }
    const row = DISTRIBUTION_ROW.exec(line);
    if (!row) throw new Malformed('a quantize() row: VALUE |@@@ COUNT');
    const low = Number(row[1]);
    // quantize() buckets are powers of two: the row labelled v counts values in [v, 2v); 0 is [0, 1).
    this.raw.histogram.push({ low, high: low <= 0 ? low + 1 : low * 2, count: Number(row[2]) });
    return true;
  }

  private memtraceRecord(line: string): void {
    let record: { type?: unknown; data?: unknown };
    try {
      record = JSON.parse(line) as { type?: unknown; data?: unknown };
    } catch {
      throw new Malformed("one of memtrace's JSON records");
    }
    // What memtrace read of the target (DTrace for Linux) comes too: its maps, and the names it gave the frames.
    // Its symbols name frames by hex address, as bpftrace's malloc log's do (a faults log's do not).
    if (typeof record.type === 'string') checkMallocSymbols(record.type, record.data);
    if (typeof record.type !== 'string' || !readMemtraceRecord(this.raw.memtrace, record.type, record.data)) {
      throw new Malformed('a memtrace_header, memtrace_maps, memtrace_symbols or memtrace_trailer record');
    }
  }

  private requireResults(line: string): void {
    if (!this.resultsOpen) throw new Malformed(`"${line.split('\t')[0]}" lines only between memtrace:end and memtrace:done`);
  }
}

/** The frames of a printed stack (DTrace's frames, leaf first, one a line). */
function framesOf(printed: string, place: PlaceDtraceFrame): PrintedFrame[] {
  if (printed === '') return [];
  return printed.split('\n').map((line) => {
    const { address, symbol, module } = parseDtraceFrame(line, place);
    return { address, symbol, module };
  });
}

/** A frame's part of a stack key: its address when known, else its printed name (call site included). */
function frameKey(frame: PrintedFrame & { printed?: string }): string {
  return frame.address !== null && frame.symbol === null ? `0x${frame.address.toString(16)}` : (frame.printed ?? frame.symbol ?? '');
}

const NORESOLVE_FRAME = /^([^\s:`]+):(0x[0-9a-fA-F]+)$/;

/**
 * `module`function+0xoff` → a named frame; `module`0xaddr` and `0xaddr` → an address for later
 * naming; `module:0xoff` (noresolve) → the address `place` gives it, else shown as printed.
 */
export function parseDtraceFrame(printed: string, place: PlaceDtraceFrame = () => null): PrintedFrame & { printed: string } {
  const text = printed.trim();
  const relative = NORESOLVE_FRAME.exec(text);
  if (relative) {
    const address = place(relative[1]!, BigInt(relative[2]!));
    return address === null
      ? { address: null, symbol: text, module: relative[1]!, printed: text }
      : { address, symbol: null, module: relative[1]!, printed: text };
  }
  const tick = text.indexOf('`');
  const module = tick === -1 ? null : text.slice(0, tick);
  const rest = tick === -1 ? text : text.slice(tick + 1);
  if (/^0x[0-9a-fA-F]+$/.test(rest)) return { address: BigInt(rest), symbol: null, module, printed: text };
  return { address: null, symbol: dtraceFrameName(rest), module, printed: text };
}

function integer(text: string | undefined, expected: string): number {
  if (text === undefined || !/^-?\d{1,19}$/.test(text)) throw new Malformed(expected);
  return Number(text);
}

/** Whether the head of a log is the output of memtrace's D malloc program. */
export function looksLikeMallocDtrace(text: string): boolean {
  if (/^(A\t[0-9a-f]+\t\d+\t\d+|calls\t[^\t]+\t\d+|stack\t\d+\t\d+)$/m.test(text)) return true;
  if ((memtraceHeaderOf(text)?.tracer as { name?: unknown } | undefined)?.name === 'dtrace') return true;
  return /^memtrace:begin malloc$/m.test(text) && !/^Attaching \d+ probes?/m.test(text) && !/^\{"type": ?"(?!memtrace_)/m.test(text);
}
