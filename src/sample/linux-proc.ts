// Reads a Linux process's memory from /proc, as cheaply as the kernel allows: one pread of
// /proc/PID/statm per sample, on a descriptor opened once.
//
// Reference: proc(5). /proc/PID/statm is one line of page counts:
//   size resident shared text lib data dt
//   765 417 388 5 0 123 0
// `size` is the virtual size (VmSize) and `resident` the RSS (VmRSS), both in pages. A descriptor
// held open on a process that has exited reads ESRCH, so a recycled PID is never sampled by mistake.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcessMemory {
  rss: number;
  vsz: number;
}

let cachedPageSize: number | null = null;

/** The kernel's page size (statm counts pages); getconf is asked once. */
export function pageSize(): number {
  if (cachedPageSize === null) {
    try {
      cachedPageSize = Number.parseInt(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim(), 10) || 4096;
    } catch {
      cachedPageSize = 4096;
    }
  }
  return cachedPageSize;
}

/** Parses one statm line into bytes; null if it is not one. */
export function parseStatm(text: string, bytesPerPage: number): ProcessMemory | null {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2 || !fields.every((field) => /^\d+$/.test(field))) return null;
  return { vsz: Number(fields[0]) * bytesPerPage, rss: Number(fields[1]) * bytesPerPage };
}

/** A process's statm, held open. read() returns null once the process has gone. */
export class StatmReader {
  readonly pid: number;
  private fd: number | null;
  private readonly buffer = Buffer.alloc(128);
  private readonly bytesPerPage = pageSize();

  constructor(pid: number) {
    this.pid = pid;
    this.fd = openSync(`/proc/${pid}/statm`, 'r');
  }

  read(): ProcessMemory | null {
    if (this.fd === null) return null;
    try {
      const length = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      const memory = parseStatm(this.buffer.toString('latin1', 0, length), this.bytesPerPage);
      // A zombie still has its statm, all zeros: it has no memory left to show.
      if (memory === null || memory.vsz === 0) return this.gone();
      return memory;
    } catch {
      return this.gone();
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private gone(): null {
    this.close();
    return null;
  }
}

/** One line of /proc/PID/stat, the fields a process tree needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  name: string;
  state: string;
}

/** Parses /proc/PID/stat; the name in parentheses may itself contain ") ", so the last one ends it. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  const pid = Number.parseInt(text.slice(0, open), 10);
  const ppid = Number.parseInt(rest[1] ?? '', 10);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, name: text.slice(open + 1, close), state: rest[0] ?? '?' };
}

/** Every process on the machine with its parent (one read of /proc/*\/stat each). */
export function listProcesses(): ProcStat[] {
  const processes: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseProcStat(readFileSync(`/proc/${entry}/stat`, 'latin1'));
      if (stat !== null) processes.push(stat);
    } catch {
      // The process exited between readdir and read.
    }
  }
  return processes;
}

/** The comm name of a process, or null if it has gone. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
