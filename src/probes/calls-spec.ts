// The probe spec of the calls tool: RSS read at every Python function entry and return (the
// interpreter's USDT probes) and either side of chosen native functions (uprobe/uretprobe pairs).
// One spec renders a bpftrace program (render-calls-bpf.ts); every value in it has been validated
// by buildCallsSpec, so the renderer only assembles trusted pieces.
import { UsageError } from '../errors.js';
import { validateInteger, validatePid, validateProbePath, validateSymbol } from './validate.js';

/** The Python interpreter's probes, when the target is one whose probes fire. */
export interface PythonProbes {
  /** Absolute path of the binary (or libpython) that holds the `python` USDT notes. */
  binary: string;
  /**
   * Enable the `line` probe as well. CPython 3.11 reports Python-to-Python calls through its
   * entry/return probes only while the line probe is enabled (it switches the interpreter onto its
   * tracing path); the line events themselves are counted, not logged.
   */
  lines: boolean;
}

/** A native function probed at entry and return. */
export interface NativeFunction {
  /** 1-based; names the function in the printed records (the table is printed at BEGIN). */
  id: number;
  /** Absolute path of the library or executable defining it. */
  library: string;
  symbol: string;
}

export interface CallsSpec {
  /** Process to trace; null renders `$1` (the first positional parameter of a standalone script). */
  pid: number | null;
  python: PythonProbes | null;
  functions: NativeFunction[];
  /** Bytes RSS must move by since the last logged event for an event to be logged (0: every event). */
  triggerBytes: number;
  /** The kernel's page size: the RSS counters count pages. */
  pageSize: number;
  /** End the trace after so many milliseconds, from inside the program. */
  durationMs: number | null;
}

/** Native functions one trace may probe: each is two probes, and attaching costs ~0.3 s a probe. */
export const MAX_NATIVE_FUNCTIONS = 64;

export interface CallsSpecOptions {
  pid: number | null;
  python: PythonProbes | null;
  functions?: Array<{ library: string; symbol: string }>;
  triggerBytes: number;
  pageSize?: number;
  durationMs?: number | null;
}

export function buildCallsSpec(options: CallsSpecOptions): CallsSpec {
  const functions = (options.functions ?? []).map((fn, index) => ({
    id: index + 1,
    library: validateProbePath('--func', fn.library),
    symbol: validateSymbol('--func', fn.symbol),
  }));
  if (functions.length > MAX_NATIVE_FUNCTIONS) {
    throw new UsageError(
      `--func: ${functions.length} functions matched; at most ${MAX_NATIVE_FUNCTIONS} can be probed at once (narrow the glob)`,
    );
  }
  if (options.python === null && functions.length === 0) {
    throw new UsageError('nothing to probe: the target has no Python function probes and no --func was given');
  }
  return {
    pid: options.pid === null ? null : validatePid(options.pid),
    python:
      options.python === null ? null : { binary: validateProbePath('python binary', options.python.binary), lines: options.python.lines },
    functions,
    triggerBytes: validateInteger('--trigger', options.triggerBytes, 0, Number.MAX_SAFE_INTEGER),
    pageSize: validateInteger('page size', options.pageSize ?? 4096, 1024, 1 << 20),
    durationMs: options.durationMs == null ? null : validateInteger('--duration', options.durationMs, 1, 31 * 86_400_000),
  };
}

/** The grammar of `--func LIB:GLOB`: a library path or file-name glob, a colon, a symbol glob (`*` and `?` only). */
const FUNC_ARGUMENT = /^([A-Za-z0-9._+\-/*?]{1,4000}):([A-Za-z0-9_.*?]{1,256})$/;

export interface FunctionPattern {
  /** An absolute path, or a glob matched against the file names of the target's libraries. */
  library: string;
  symbol: string;
}

/** Parses one --func value; the globs are expanded against real files and symbols, never by the tracer. */
export function parseFunctionPattern(value: string): FunctionPattern {
  const match = FUNC_ARGUMENT.exec(value);
  if (match === null || match[1]!.split('/').includes('..') || /^[0-9.]/.test(match[2]!)) {
    throw new UsageError(
      `--func: expected LIB:GLOB such as 'libz.so*:deflate*' or /usr/lib/x86_64-linux-gnu/libz.so.1:deflate (letters, digits, . _ + - / and the globs * ?), got ${JSON.stringify(value.slice(0, 80))}`,
    );
  }
  return { library: match[1]!, symbol: match[2]! };
}

/** A glob of `*` and `?` as an anchored regular expression (every other character literal). */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\-]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
