// What an input of `memtrace report` is: how it is recognised, and how it renders itself. The
// inputs themselves are listed in inputs.ts; the ones in modules of their own (bpftrace-maps.ts,
// dtrace-aggregations.ts) and push.ts need only these types.
import type { LogHead } from '../../parse/first-line.js';
import type { PyroscopePush } from './pyroscope.js';

export interface ReportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What the command line asked of the reports; each input checks the parts it uses. */
export interface ReportInputOptions {
  /** -o paths, in order ("-" is stdout). */
  outputs: string[];
  /** -f: the format written to stdout. */
  format: string | null;
  lenient: boolean;
  /** --value, unchecked. */
  value: string | null;
  /** --top, unchecked. */
  top: string | null;
  /** --push, --app, --label: checked already; null when not pushing. */
  push: PyroscopePush | null;
  /** --map: which stack map of a bpftrace dump to report (default: the first printed). */
  map: string | null;
  /** --with: a memtrace process log to draw beside a --timeline trace (malloc inputs only). */
  with: string | null;
}

export interface ReportInput {
  /** The --input-format name. */
  name: string;
  /** One line for the help text and the docs. */
  summary: string;
  /** Names that are this input whatever the content says (FlameGraph's .folded). */
  fileName?: RegExp;
  /** Whether the head of a log is this input. */
  detect(head: LogHead): boolean;
  /** Whether the log becomes a stack profile, which --push can send to Pyroscope. */
  stacks: boolean;
  /** Checks the outputs first, then reads the log and writes the reports; returns the exit code. */
  report(path: string, options: ReportInputOptions, io: ReportIo): Promise<number>;
}
