// Reads the perf map a JIT writes for its generated code: /tmp/perf-PID.map, one line per code
// object, appended while the process runs. V8 writes it under `--perf-basic-prof` (every code
// object) or `--perf-basic-prof-only-functions` (JS functions only); CPython 3.12+ under `-X perf`
// (or PYTHONPERFSUPPORT=1). Without it, the native stack of a JIT frame is a bare hex address in
// anonymous memory.
//
// Reference: the format perf(1) reads, tools/perf/Documentation/jit-interface.txt in the Linux
// tree: "START SIZE symbolname", START and SIZE in hex without 0x, the name running to the end of
// the line. Example input (node 20 --perf-basic-prof, test/fixtures/symbols/perf-buffers.map):
//
//   18c4000 300 Builtin:DeoptimizationEntry_Eager
//   7f445404bec0 378 JS:~makeDistinctBuffers file:///work/test/workloads/node/buffers.js:14:29
//   7f4454053e80 1c8 JS:^makeDistinctBuffers file:///work/test/workloads/node/buffers.js:14:29
//   py::main:/srv/app.py                                     (CPython 3.12: name after the size)
//
// V8 marks the tier after `JS:`: `~` interpreted (Ignition), `^` baseline (Sparkplug), `+` Maglev,
// `*` optimized (TurboFan). Code space is reused after a collection: a later line may describe a
// range an earlier line described, and the later line is the code that runs there now.
//
// A line that is not of that shape (a map cut mid-line by a process that was killed) is counted in
// `malformedLines` and skipped: a perf map is advisory, never a reason to fail a report.
import { createReadStream } from 'node:fs';
import { access, lstat, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface PerfMapEntry {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  name: string;
  /** Order in the file: among overlapping entries, the highest wins. */
  sequence: number;
}

/** What a perf-map name says the code is: `js` for V8's entries, `python` for CPython's `py::`. */
export type JitFrameKind = 'js' | 'python';

export interface JitFrame {
  /** `JS:~name file:line` (V8), `py::name:file` (CPython), or V8's name for its own code (`Builtin:…`). */
  name: string;
  kind: JitFrameKind;
}

// dotAll: a name (a script's path) may hold U+2028/U+2029, which readline keeps inside the line.
const LINE = /^([0-9a-fA-F]{1,16}) ([0-9a-fA-F]{1,16}) (\S.*)$/s;

export class PerfMap {
  /** Lines that were not `START SIZE NAME`. */
  malformedLines = 0;
  lines = 0;
  readonly #entries: PerfMapEntry[] = [];
  #sorted = true;
  /** The largest entry: bounds how far back a lookup must look for ranges that hold an address. */
  #maxSize = 0n;

  /** Feeds one line of the map (without its newline). */
  push(line: string): void {
    this.lines += 1;
    if (line.trim() === '') return;
    const match = LINE.exec(line);
    if (!match) {
      this.malformedLines += 1;
      return;
    }
    const start = BigInt(`0x${match[1]}`);
    const size = BigInt(`0x${match[2]}`);
    if (size === 0n) return; // Zero-sized entries name no code address.
    const last = this.#entries.at(-1);
    if (last !== undefined && last.start > start) this.#sorted = false;
    this.#entries.push({ start, end: start + size, name: match[3]!.trimEnd(), sequence: this.#entries.length });
    if (size > this.#maxSize) this.#maxSize = size;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The code holding `address`: among the entries whose range holds it, the one written last. */
  find(address: bigint): PerfMapEntry | undefined {
    if (!this.#sorted) {
      this.#entries.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.sequence - b.sequence));
      this.#sorted = true;
    }
    const entries = this.#entries;
    let low = 0;
    let high = entries.length - 1;
    let last = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (entries[middle]!.start <= address) {
        last = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    let found: PerfMapEntry | undefined;
    for (let index = last; index >= 0; index--) {
      const entry = entries[index]!;
      if (address - entry.start >= this.#maxSize) break;
      if (address < entry.end && (found === undefined || entry.sequence > found.sequence)) found = entry;
    }
    return found;
  }
}

/**
 * Reads a perf map line by line: the map of a long-running node can be tens of megabytes. memtrace
 * runs as root and the path may lie in a container's /tmp: only a regular file is read, never what
 * a symbolic link or a FIFO planted there would lead to.
 */
export async function readPerfMap(path: string): Promise<PerfMap> {
  const info = await lstat(path);
  if (!info.isFile()) throw new Error(`${path} is not a regular file`);
  const map = new PerfMap();
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) map.push(line);
  return map;
}

/**
 * A perf-map name as a frame: V8's `JS:~name file:///path:line:col` loses the `file://` and the
 * column (a report groups by function, and one function's code objects differ only there).
 */
export function jitFrame(name: string): JitFrame {
  if (name.startsWith('py::')) return { name, kind: 'python' };
  const js = /^(JS:[~^+*]?\S*) (.*?)(?::\d+)?$/.exec(name);
  if (js) return { name: `${js[1]} ${js[2]!.replace(/^file:\/\//, '')}`, kind: 'js' };
  return { name, kind: 'js' };
}

/**
 * The PIDs of a process in each PID namespace it belongs to, outermost first, from the `NSpid:`
 * line of /proc/PID/status (Linux 4.1+). A process in a container writes its perf map under the
 * last (innermost) of them. Returns null when the line is absent (an older kernel).
 */
export function parseNsPid(status: string): number[] | null {
  for (const line of status.split('\n')) {
    if (!line.startsWith('NSpid:')) continue;
    const fields = line.slice('NSpid:'.length).trim().split(/\s+/);
    if (fields.length === 0 || fields.some((field) => !/^[0-9]{1,10}$/.test(field))) return null;
    return fields.map(Number);
  }
  return null;
}

/**
 * Where the perf map of PID is, or null when it has none. A process in its own PID namespace (a
 * container) names its map after its PID there and writes it in its own /tmp, which the host sees
 * through /proc/PID/root.
 */
export async function locatePerfMap(pid: number, procRoot = '/proc'): Promise<string | null> {
  const status = await readFile(`${procRoot}/${pid}/status`, 'utf8').catch(() => null);
  const nsPids = status === null ? null : parseNsPid(status);
  const innermost = nsPids?.at(-1) ?? pid;
  const candidates =
    innermost === pid
      ? [`/tmp/perf-${pid}.map`, `${procRoot}/${pid}/root/tmp/perf-${pid}.map`]
      : [`${procRoot}/${pid}/root/tmp/perf-${innermost}.map`];
  for (const candidate of candidates) {
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return null;
}
