// Reads /proc/PID/smaps: the maps line of each mapping followed by its counters, which say how much of
// it is resident and of what kind. `memtrace explain` splits a process's RSS by mapping from it.
//
// Reference: proc(5), "/proc/pid/smaps"; the kernel writes it in fs/proc/task_mmu.c (show_smap). A
// mapping, as Linux 6.1 prints it (one counter a line, in kB, then VmFlags):
//
//   55d6c3a00000-55d6c3a21000 rw-p 00000000 00:00 0                          [heap]
//   Size:                132 kB
//   Rss:                 132 kB
//   Pss:                 132 kB
//   Anonymous:           132 kB
//   Swap:                  0 kB
//   VmFlags: rd wr mr mw me ac sd
//
// Which counters appear depends on the kernel (Pss_Dirty is 6.0's, KSM 6.1's): every "Name: N kB"
// line is kept by name, and a mapping without Rss is an error, not a zero.
import { ParseError } from '../errors.js';
import { parseMapsLine, readProcFile, type Mapping } from './proc-maps.js';

export interface SmapsMapping extends Mapping {
  /** Each "Name: N kB" counter of the mapping, in bytes (Rss, Pss, Anonymous, Swap, Private_Dirty…). */
  counters: Record<string, number>;
  /** Resident bytes (the Rss counter). */
  rss: number;
  /** VmFlags' two-letter flags (`gd`: a stack that grows down; `ac`: accountable anonymous memory). */
  vmFlags: string[];
}

const COUNTER = /^([A-Za-z_]+):\s+(\d+) kB$/;
const HEADER = /^[0-9a-f]+-[0-9a-f]+ /;

/** Parses the text of a /proc/PID/smaps file; a line of no known shape is a ParseError naming its number. */
export function parseProcSmaps(text: string, source = 'smaps'): SmapsMapping[] {
  const mappings: SmapsMapping[] = [];
  const lines = text.split('\n');
  let current: SmapsMapping | null = null;
  const finish = (lineNumber: number): void => {
    if (current === null) return;
    if (current.counters.Rss === undefined)
      throw new ParseError({
        file: source,
        lineNumber,
        format: 'proc smaps',
        expected: `an Rss line for the mapping at ${hex(current.start)}`,
      });
    current.rss = current.counters.Rss;
    mappings.push(current);
    current = null;
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const lineNumber = index + 1;
    if (line === '') continue;
    if (HEADER.test(line)) {
      finish(lineNumber);
      current = { ...parseMapsLine(line, source, lineNumber), counters: {}, rss: 0, vmFlags: [] };
      continue;
    }
    if (current === null)
      throw new ParseError({
        file: source,
        lineNumber,
        format: 'proc smaps',
        expected: 'a mapping line such as 7f00a000-7f00b000 rw-p …',
        line,
      });
    const counter = COUNTER.exec(line);
    if (counter !== null) {
      current.counters[counter[1]!] = Number(counter[2]) * 1024;
    } else if (line.startsWith('VmFlags:')) {
      current.vmFlags = line.slice('VmFlags:'.length).trim().split(/\s+/).filter(Boolean);
    } else if (!/^[A-Za-z_]+:\s+\S+$/.test(line)) {
      // THPeligible and ProtectionKey are bare numbers: kept out of the counters, but not errors.
      throw new ParseError({ file: source, lineNumber, format: 'proc smaps', expected: 'a counter such as "Rss: 132 kB"', line });
    }
  }
  finish(lines.length);
  return mappings;
}

/** Reads and parses /proc/PID/smaps; a process that has exited gives a TargetError. */
export async function readProcSmaps(pid: number): Promise<SmapsMapping[]> {
  const { file, text } = await readProcFile(pid, 'smaps');
  return parseProcSmaps(text, file);
}

function hex(value: bigint): string {
  return value.toString(16);
}
