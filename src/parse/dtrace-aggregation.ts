// Reads DTrace's printed aggregations — what `dtrace -s script.d` prints at exit, or printa() with
// the default format — into stacks, keyed values and distributions. Streaming: push() one line at
// a time; memory grows with the distinct stacks and keys, not with the file.
//
// Reference: the Dynamic Tracing Guide, chapters "Aggregations" and "Output Formatting" (printa),
// and libdtrace's dt_consume.c (dt_print_stack, dt_print_ustack: a newline, then each frame on a
// line of its own after an indent of 14 spaces, as `module`function+0xoffset`, `module`0xaddress`
// when no symbol covers it, `0xaddress` when the process is gone, and on DTrace for Linux under
// `-x noresolve` `module:0xoffset`; dt_print_quantize: the `value  --- Distribution ---
// count` block). An example, `@[ustack()] = count();` then `@[execname] = sum(arg0);`:
//
//   CPU     ID                    FUNCTION:NAME          (not with -q: the probe that fired)
//     0  64091                        :tick-60s
//
//
//                 libsystem_malloc.dylib`malloc+0x1d
//                 prog`make_block+0x1d
//                 prog`main+0x4a
//                   29
//
//     prog                                                      29696
//
//     prog
//              value  ------------- Distribution ------------- count
//                  8 |                                         0
//                 16 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@ 41
//                 32 |                                         0
//
// A stack ends at its count, on a line of its own (or at the distribution that follows it); key
// fields other than stacks come on a line of their own, or before the value on the same line.
// Unindented lines outside a stack or distribution are the script's own printf output: counted.
// A runtime's ustack helper (Python's, Node's, Java's) adds annotation lines under frames and
// strings in place of frames: dtrace-helper-frames.ts reads them into frames with file and line.
import { frameKey, type Frame, type StackSample } from '../model/stack-profile.js';
import { isDtraceAnnotationLine, isV8HelperFrame, parseDtraceAnnotation, parseDtraceHelperFrame } from './dtrace-helper-frames.js';
import { countDtraceNotice, emptyDtraceNotices, type DtraceNotices } from './dtrace-notices.js';
import { emptyLineCounts, LineShell, Malformed, type LineCounts } from './line-shell.js';

export const DTRACE_AGGREGATION_FORMAT = 'DTrace aggregation output';

export interface DtraceDistributionRow {
  /** As printed: `16`, `< 2`, `>= 10`, `abs() < 1000`. */
  label: string;
  count: number;
}

export interface DtraceDistribution {
  /** The key fields printed before the block, joined by one space ('' for an unkeyed aggregation). */
  key: string;
  rows: DtraceDistributionRow[];
}

export interface DtraceAggregations {
  /** Stack-keyed values, root first, merged by stack; extra key fields are the root frame. */
  stacks: StackSample[];
  /** Aggregations keyed by other fields (or by nothing: key ''). */
  values: Array<{ key: string; value: number }>;
  distributions: DtraceDistribution[];
  notices: DtraceNotices;
  /** `CPU ID FUNCTION:NAME` headers and probe-firing lines of a run without -q. */
  probeLines: number;
  /**
   * Malformed lines (counted under lenient) and foreign ones (unindented lines outside aggregations:
   * the script's own printf output), counted as every reader counts them (line-shell.ts).
   */
  lines: LineCounts;
  /** The input ended inside a stack or distribution (a run cut short). */
  truncated: boolean;
}

const HEADER = /^CPU\s+ID\s+FUNCTION:NAME\s*$/;
const PROBE_LINE = /^\s*\d+\s+\d+\s+\S*:\S+\s*$/;
const DISTRIBUTION_HEADER = /^\s+value\s+-+ Distribution -+ count\s*$/;
const DISTRIBUTION_ROW = /^\s*(.*?\S)\s+\|[@ |]*\s(-?\d+)\s*$/;
const COUNT_ONLY = /^\s+(-?\d+)\s*$/;
const KEYED_VALUE = /^\s+(\S.*?)\s+(-?\d+)\s*$/;
const HEX_FRAME = /^\s+0x[0-9a-fA-F]+\s*$/;
/** DTrace for Linux's `-x noresolve`: `module:0xOFFSET`, the offset in the mapping that holds the address. */
const NORESOLVE_FRAME = /^\s+[^\s:`]+:0x[0-9a-fA-F]+\s*$/;

/** Whether an indented line is a stack frame as DTrace prints them. */
export function isDtraceFrameLine(line: string): boolean {
  return /^\s+\S/.test(line) && (line.includes('`') || HEX_FRAME.test(line) || NORESOLVE_FRAME.test(line));
}

/**
 * Whether a line, indented or not, is a frame: printa()'s %k prints frames without an indent (see
 * malloc-dtrace.ts), so a caller that knows a stack is open asks this instead.
 */
export function isPrintedDtraceFrame(line: string): boolean {
  return !line.includes('\t') && isDtraceFrameLine(` ${line.trimStart()}`);
}

/**
 * The name a folded stack shows for a printed frame: `module`function` without the offset, and
 * without C++ argument lists (FlameGraph's stackcollapse.pl names DTrace frames the same way).
 */
export function dtraceFrameName(printed: string): string {
  let name = printed.trim().replace(/\+0x[0-9a-fA-F]+$/, '');
  const scope = name.indexOf('::');
  if (scope !== -1) {
    const cut = Math.max(name.lastIndexOf('('), name.lastIndexOf('<'));
    if (cut >= scope + 2) name = name.slice(0, cut);
  }
  return name === '' ? '-' : name;
}

type State =
  | { kind: 'idle' }
  /** indent: the frames' indent (DTrace prints them all alike), which a helper's string in place of a frame has too. */
  | { kind: 'stack'; frames: string[]; blank: boolean; indent: number; cutAnnotation: { line: string; lineNumber: number } | null }
  | { kind: 'distribution'; key: string; frames: string[] | null; rows: DtraceDistributionRow[] };

export interface DtraceAggregationReaderOptions {
  source: string;
  lenient?: boolean;
}

export class DtraceAggregationReader {
  private state: State = { kind: 'idle' };
  private pendingKey: string | null = null;
  private readonly shell: LineShell;
  private readonly stackTotals = new Map<string, StackSample>();
  private readonly result: DtraceAggregations = {
    stacks: [],
    values: [],
    distributions: [],
    notices: emptyDtraceNotices(),
    probeLines: 0,
    lines: emptyLineCounts(),
    truncated: false,
  };

  constructor(options: DtraceAggregationReaderOptions) {
    this.shell = new LineShell({ ...options, format: DTRACE_AGGREGATION_FORMAT }, this.result.lines);
  }

  push(line: string): void {
    this.shell.line(
      line,
      (read) => this.handle(read),
      undefined,
      () => {
        this.state = { kind: 'idle' };
        this.pendingKey = null;
      },
    );
  }

  finish(): DtraceAggregations {
    if (this.state.kind === 'distribution' && this.state.rows.length > 0) this.endDistribution();
    else if (this.state.kind !== 'idle') this.result.truncated = true;
    if (this.pendingKey !== null) this.result.truncated = true;
    this.state = { kind: 'idle' };
    this.result.stacks = [...this.stackTotals.values()];
    return this.result;
  }

  private handle(line: string): void {
    const state = this.state;
    if (state.kind === 'stack') return this.inStack(state, line);
    if (state.kind === 'distribution') return this.inDistribution(state, line);
    if (line.trim() === '') {
      if (this.pendingKey !== null) throw new Malformed('a value, stack or distribution after the key line');
      return;
    }
    if (countDtraceNotice(line, this.result.notices)) return;
    if (HEADER.test(line) || PROBE_LINE.test(line)) {
      this.result.probeLines += 1;
      return;
    }
    if (!/^\s/.test(line)) {
      this.shell.foreign();
      return;
    }
    if (DISTRIBUTION_HEADER.test(line)) {
      this.state = { kind: 'distribution', key: this.takeKey(), frames: null, rows: [] };
      return;
    }
    if (isDtraceAnnotationLine(line)) throw new Malformed(ANNOTATION_WITHOUT_FRAME);
    if ((isDtraceFrameLine(line) && !KEYED_VALUE.test(line)) || isV8HelperFrame(line)) {
      this.state = { kind: 'stack', frames: [line.trim()], blank: false, indent: indentOf(line), cutAnnotation: null };
      return;
    }
    const count = COUNT_ONLY.exec(line);
    if (count) {
      this.result.values.push({ key: this.takeKey(), value: Number(count[1]) });
      return;
    }
    const keyed = KEYED_VALUE.exec(line);
    if (keyed) {
      this.result.values.push({ key: joinKey(this.takeKey(), keyed[1]!.trim()), value: Number(keyed[2]) });
      return;
    }
    // A key field on a line of its own: the stack or distribution follows.
    this.pendingKey = joinKey(this.pendingKey ?? '', line.trim());
  }

  private inStack(state: Extract<State, { kind: 'stack' }>, line: string): void {
    if (state.cutAnnotation !== null) throw new Malformed(CUT_ANNOTATION, state.cutAnnotation);
    if (line.trim() === '') {
      state.blank = true;
      return;
    }
    if (state.blank) {
      if (!DISTRIBUTION_HEADER.test(line)) throw new Malformed('a count or a distribution after the stack');
      this.state = { kind: 'distribution', key: this.takeKey(), frames: state.frames, rows: [] };
      return;
    }
    if (isDtraceAnnotationLine(line)) {
      // A `[` without its ` ]` is the end of a run cut short when nothing follows it (finish()), else garbled.
      if (parseDtraceAnnotation(line) === null) state.cutAnnotation = { line, lineNumber: this.shell.lineNumber };
      else state.frames.push(line.trim());
      return;
    }
    if (isDtraceFrameLine(line)) {
      state.frames.push(line.trim());
      return;
    }
    const count = COUNT_ONLY.exec(line);
    if (count) {
      this.addStack(state.frames, this.takeKey(), Number(count[1]));
      this.state = { kind: 'idle' };
      return;
    }
    // A ustack helper's string in place of a frame (Node's `foo at /app.js line 12`, Java's methods): at the frames' indent.
    if (indentOf(line) === state.indent && !line.includes('\t')) {
      state.frames.push(line.trim());
      return;
    }
    throw new Malformed(
      "a stack frame (module`function+0xoffset, or a ustack helper's string at the frames' indent), an annotation ([ FILE:LINE (FUNCTION) ]) or the count on its own line",
    );
  }

  private inDistribution(state: Extract<State, { kind: 'distribution' }>, line: string): void {
    if (line.trim() === '') {
      if (state.rows.length === 0) throw new Malformed('distribution rows (VALUE |@@@ COUNT) after the header');
      this.endDistribution();
      return;
    }
    const row = DISTRIBUTION_ROW.exec(line);
    if (!row) throw new Malformed('a distribution row: VALUE |@@@ COUNT');
    state.rows.push({ label: row[1]!.replace(/\s+/g, ' '), count: Number(row[2]) });
  }

  private endDistribution(): void {
    const state = this.state as Extract<State, { kind: 'distribution' }>;
    if (state.frames !== null) {
      // A stack-keyed distribution: the stack weighs as many as the distribution counted.
      this.addStack(
        state.frames,
        state.key,
        state.rows.reduce((sum, row) => sum + row.count, 0),
      );
    } else {
      this.result.distributions.push({ key: state.key, rows: state.rows });
    }
    this.state = { kind: 'idle' };
  }

  private addStack(printed: string[], key: string, value: number): void {
    // Printed leaf first, an annotation under the frame it annotates: reversed whole, the annotation is that frame's caller.
    const frames: Frame[] = printed.map(printedStackFrame).reverse();
    if (key !== '') frames.unshift({ name: key });
    const id = frames.map(frameKey).join('\n');
    const existing = this.stackTotals.get(id);
    if (existing === undefined) this.stackTotals.set(id, { frames, values: { value } });
    else existing.values.value = (existing.values.value ?? 0) + value;
  }

  private takeKey(): string {
    const key = this.pendingKey ?? '';
    this.pendingKey = null;
    return key;
  }
}

const CUT_ANNOTATION =
  "a ustack helper's annotation whole on its line, [ FILE:LINE (FUNCTION) ] (this one has no closing ' ]' and is not the last line)";
const ANNOTATION_WITHOUT_FRAME = 'a stack frame before the annotation ([ … ]): an annotation is printed under the frame it annotates';

/** The frame of one printed stack line (trimmed): a native frame, a helper's annotation, or a helper's string in place of a frame. */
function printedStackFrame(printed: string): Frame {
  if (isDtraceAnnotationLine(printed)) return parseDtraceAnnotation(printed) ?? { name: printed };
  if (isDtraceFrameLine(` ${printed}`)) return { name: dtraceFrameName(printed) };
  return parseDtraceHelperFrame(printed);
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function joinKey(left: string, right: string): string {
  return left === '' ? right : `${left} ${right}`;
}

/** Whether the head of a log looks like printed DTrace aggregations: a stack frame or a distribution. */
export function looksLikeDtraceAggregations(text: string): boolean {
  if (/^memtrace:begin\b/m.test(text)) return false;
  const lines = text.split('\n').slice(0, 400);
  const hasFrameThenCount = lines.some(
    (line, index) => isDtraceFrameLine(line) && lines.slice(index + 1, index + 200).some((next) => COUNT_ONLY.test(next)),
  );
  return hasFrameThenCount || lines.some((line) => DISTRIBUTION_HEADER.test(line));
}
