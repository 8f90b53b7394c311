// Reads a process's memory map (/proc/PID/maps), the table that lets the symbolizer turn a runtime
// address into "offset N of file F".
//
// Reference: proc(5), "/proc/pid/maps"; the kernel writes each line in fs/proc/task_mmu.c
// (show_map_vma). Example input, one mapping per line:
//
//   55ea84f0d000-55ea84f13000 r-xp 00002000 fe:00 260386                     /usr/bin/head
//   55eabfadd000-55eabfafe000 rw-p 00000000 00:00 0                          [heap]
//   7fd075b22000-7fd075b25000 rw-p 00000000 00:00 0
//   7fd075b4b000-7fd075ca1000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
//   7f0000001000-7f0000002000 r-xp 00001000 fe:00 4242                       /tmp/my lib.so (deleted)
//
// The path is padded to a column with spaces and may itself contain spaces, so it is "everything
// after the whitespace that follows the inode". The kernel escapes only a newline in it (as \012);
// we keep that text as is rather than guess which backslashes were in the real name.
import { readFile } from 'node:fs/promises';
import { ParseError, TargetError } from '../errors.js';

export interface Mapping {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** Offset in the file of the byte mapped at `start`. */
  offset: bigint;
  /** Four characters: r, w, x, then p (private) or s (shared); `-` where absent. */
  perms: string;
  /** major:minor in hex, as the kernel prints it. */
  dev: string;
  inode: number;
  /** '' for anonymous memory; pseudo-paths such as `[heap]`, `[vdso]` and `[anon:name]` are kept as is. */
  path: string;
  /** The kernel appended ` (deleted)`: the file was unlinked (or replaced) after it was mapped. */
  deleted: boolean;
}

const DELETED_SUFFIX = ' (deleted)';

// One pattern per field, tried in order, so a malformed line is reported by the first field that is
// wrong instead of by a single unreadable "no match".
const FIELDS: { name: string; pattern: RegExp; expected: string }[] = [
  { name: 'range', pattern: /^([0-9a-f]+)-([0-9a-f]+)(?=\s)/, expected: 'an address range such as 7f00a000-7f00b000' },
  { name: 'perms', pattern: /^\s+([r-][w-][x-][ps])(?=\s)/, expected: 'permissions such as r-xp' },
  { name: 'offset', pattern: /^\s+([0-9a-f]+)(?=\s)/, expected: 'a hexadecimal file offset' },
  { name: 'dev', pattern: /^\s+([0-9a-f]+:[0-9a-f]+)(?=\s|$)/, expected: 'a device such as fe:00' },
  { name: 'inode', pattern: /^\s+([0-9]+)(?=\s|$)/, expected: 'a decimal inode number' },
];

/**
 * Parses the text of a /proc/PID/maps file. Empty lines are ignored (the file ends with a newline);
 * any other line that does not have the kernel's shape throws a ParseError naming the line number
 * and the field that was expected. `source` names the input in that message.
 */
export function parseProcMaps(text: string, source = 'maps'): Mapping[] {
  const mappings: Mapping[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === '') continue;
    mappings.push(parseMapsLine(line, source, index + 1));
  }
  return mappings;
}

/** One line of /proc/PID/maps (or a mapping's header line in smaps); a ParseError names the field that was wrong. */
export function parseMapsLine(line: string, source: string, lineNumber: number): Mapping {
  const values: string[] = [];
  let rest = line;
  for (const field of FIELDS) {
    const match = field.pattern.exec(rest);
    if (!match) {
      throw new ParseError({ file: source, lineNumber, format: 'proc maps', expected: field.expected, line });
    }
    values.push(...match.slice(1));
    rest = rest.slice(match[0].length);
  }
  const [startHex, endHex, perms, offsetHex, dev, inodeText] = values as [string, string, string, string, string, string];
  const start = BigInt(`0x${startHex}`);
  const end = BigInt(`0x${endHex}`);
  if (end <= start) {
    throw new ParseError({ file: source, lineNumber, format: 'proc maps', expected: 'a range whose end is above its start', line });
  }
  // Whatever follows the inode is padding then the path; a line without a path is anonymous memory.
  if (rest !== '' && !/^\s/.test(rest)) {
    throw new ParseError({ file: source, lineNumber, format: 'proc maps', expected: 'whitespace after the inode', line });
  }
  let path = rest.replace(/^\s+/, '');
  const deleted = path.endsWith(DELETED_SUFFIX);
  if (deleted) path = path.slice(0, -DELETED_SUFFIX.length);
  return { start, end, offset: BigInt(`0x${offsetHex}`), perms, dev, inode: Number(inodeText), path, deleted };
}

/** Reads and parses /proc/PID/maps; a process that has already exited gives a TargetError. */
export async function readProcMaps(pid: number): Promise<Mapping[]> {
  const { file, text } = await readProcFile(pid, 'maps');
  return parseProcMaps(text, file);
}

/** The text of /proc/PID/NAME; a process that has exited, or a file that cannot be read, gives a TargetError saying which. */
export async function readProcFile(pid: number, name: string): Promise<{ file: string; text: string }> {
  const file = `/proc/${pid}/${name}`;
  try {
    return { file, text: await readFile(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ESRCH'
        ? `process ${pid} has exited`
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied: process ${pid} belongs to another user; run memtrace as root (sudo)`
          : `${code ?? String(error)}`;
    throw new TargetError(`cannot read ${file}: ${why}`, { cause: error });
  }
}

/** The JSON form of a MappingHistory: each distinct mapping once, and each snapshot as indexes into that list. */
export interface MappingHistoryJson {
  format: 'memtrace-mapping-history';
  version: 1;
  mappings: MappingJson[];
  snapshots: number[][];
}

interface MappingJson {
  start: string;
  end: string;
  offset: string;
  perms: string;
  dev: string;
  inode: number;
  path: string;
  deleted: boolean;
}

/**
 * The union of several snapshots of one process's maps. A process is read more than once while it
 * lives (libraries are dlopen'ed and unmapped, and a short-lived one may be gone by report time), and
 * an address is looked up in the most recent snapshot that maps it: if memory was unmapped and
 * mapped again with another file, the later file is the one that was there for most of the run.
 */
export class MappingHistory {
  // The distinct mappings seen so far, and for each snapshot the mappings it had, sorted by start.
  // Within one snapshot mappings never overlap, which is what makes the binary search in find() valid.
  readonly #mappings: Mapping[] = [];
  readonly #indexByKey = new Map<string, number>();
  readonly #snapshots: number[][] = [];

  /** Records one snapshot. A snapshot identical to the previous one is not stored twice. */
  add(mappings: readonly Mapping[]): void {
    const indexes = [...mappings].sort((a, b) => compareBigint(a.start, b.start)).map((mapping) => this.#intern(mapping));
    const previous = this.#snapshots.at(-1);
    if (previous && previous.length === indexes.length && previous.every((value, i) => value === indexes[i])) return;
    this.#snapshots.push(indexes);
  }

  /** The mapping containing `address` in the latest snapshot that has one. */
  find(address: bigint): Mapping | undefined {
    for (let s = this.#snapshots.length - 1; s >= 0; s--) {
      const found = this.#findInSnapshot(this.#snapshots[s]!, address);
      if (found) return found;
    }
    return undefined;
  }

  /** Every distinct mapping ever seen, sorted by start address (then by when it was first seen). */
  all(): Mapping[] {
    return [...this.#mappings].sort((a, b) => compareBigint(a.start, b.start));
  }

  /** How many distinct snapshots were recorded. */
  get snapshotCount(): number {
    return this.#snapshots.length;
  }

  toJSON(): MappingHistoryJson {
    return {
      format: 'memtrace-mapping-history',
      version: 1,
      mappings: this.#mappings.map((m) => ({
        start: hex(m.start),
        end: hex(m.end),
        offset: hex(m.offset),
        perms: m.perms,
        dev: m.dev,
        inode: m.inode,
        path: m.path,
        deleted: m.deleted,
      })),
      snapshots: this.#snapshots.map((snapshot) => [...snapshot]),
    };
  }

  /** Rebuilds a history saved with toJSON(); throws an Error saying which part is malformed. */
  static fromJSON(json: unknown): MappingHistory {
    const fail = (what: string): never => {
      throw new Error(`not a memtrace mapping history: ${what}`);
    };
    if (typeof json !== 'object' || json === null) fail('expected an object');
    const data = json as Partial<MappingHistoryJson>;
    if (data.format !== 'memtrace-mapping-history') fail(`format is ${JSON.stringify(data.format)}`);
    if (data.version !== 1) fail(`unsupported version ${JSON.stringify(data.version)}`);
    if (!Array.isArray(data.mappings) || !Array.isArray(data.snapshots)) fail('expected mappings and snapshots arrays');
    const mappings = data.mappings!.map((entry, i) => mappingFromJson(entry, i, fail));
    const history = new MappingHistory();
    data.snapshots!.forEach((snapshot, s) => {
      if (!Array.isArray(snapshot)) fail(`snapshot ${s} is not an array`);
      history.add(
        snapshot.map((index: unknown) => {
          if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= mappings.length) {
            fail(`snapshot ${s} refers to mapping ${JSON.stringify(index)}, which does not exist`);
          }
          return mappings[index as number]!;
        }),
      );
    });
    return history;
  }

  #intern(mapping: Mapping): number {
    const key = [mapping.start, mapping.end, mapping.offset, mapping.perms, mapping.dev, mapping.inode, mapping.deleted, mapping.path].join(
      '\u0000',
    );
    let index = this.#indexByKey.get(key);
    if (index === undefined) {
      index = this.#mappings.push({ ...mapping }) - 1;
      this.#indexByKey.set(key, index);
    }
    return index;
  }

  #findInSnapshot(snapshot: number[], address: bigint): Mapping | undefined {
    let low = 0;
    let high = snapshot.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const mapping = this.#mappings[snapshot[middle]!]!;
      if (address < mapping.start) high = middle - 1;
      else if (address >= mapping.end) low = middle + 1;
      else return mapping;
    }
    return undefined;
  }
}

function mappingFromJson(entry: unknown, index: number, fail: (what: string) => never): Mapping {
  const m = entry as Partial<MappingJson> | null;
  const isHex = (value: unknown): value is string => typeof value === 'string' && /^0x[0-9a-f]+$/.test(value);
  if (
    typeof m !== 'object' ||
    m === null ||
    !isHex(m.start) ||
    !isHex(m.end) ||
    !isHex(m.offset) ||
    typeof m.perms !== 'string' ||
    typeof m.dev !== 'string' ||
    typeof m.path !== 'string' ||
    typeof m.inode !== 'number' ||
    typeof m.deleted !== 'boolean'
  ) {
    return fail(`mapping ${index} lacks start/end/offset (0x… strings), perms, dev, inode, path or deleted`);
  }
  return {
    start: BigInt(m.start),
    end: BigInt(m.end),
    offset: BigInt(m.offset),
    perms: m.perms,
    dev: m.dev,
    inode: m.inode,
    path: m.path,
    deleted: m.deleted,
  };
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
