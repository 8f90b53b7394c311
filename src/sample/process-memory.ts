// Reading another process's memory from outside: /proc/PID/mem and /proc/PID/pagemap opened with
// errors that say why not (gone, not ours, unreadable), and the test that tells "this address reads
// nothing" (unmapped since the maps were read) from "the process is gone". The glibc heap walk and
// the pymalloc arena scan both read through it.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { TargetError } from '../errors.js';

/** A mapping of the target, as /proc/PID/maps shows it (symbols' Mapping fits). */
export interface MemoryRange {
  start: bigint;
  end: bigint;
  perms: string;
  /** '' for anonymous memory; `[heap]` for the brk heap. */
  path: string;
}

/** /proc/PID/mem or pagemap could not be read at all. */
export class ProcessMemoryError extends TargetError {
  readonly reason: 'exited' | 'no-permission' | 'unreadable';
  constructor(message: string, reason: 'exited' | 'no-permission' | 'unreadable', cause?: unknown) {
    super(message, { cause });
    this.reason = reason;
  }
}

/** /proc/PID/NAME opened for reading; a ProcessMemoryError saying why not. */
export async function openProcFile(pid: number, name: string): Promise<FileHandle> {
  try {
    return await open(`/proc/${pid}/${name}`, 'r');
  } catch (error) {
    throw processMemoryError(pid, `/proc/${pid}/${name}`, error);
  }
}

/** A process's memory and its page table, open together (both or neither); close() closes both. */
export async function openProcessMemory(pid: number): Promise<{ mem: FileHandle; pagemap: FileHandle; close(): Promise<void> }> {
  const mem = await openProcFile(pid, 'mem');
  let pagemap: FileHandle;
  try {
    pagemap = await openProcFile(pid, 'pagemap');
  } catch (error) {
    await mem.close();
    throw error;
  }
  return { mem, pagemap, close: async () => void (await Promise.all([mem.close(), pagemap.close()])) };
}

/** The error of a failed open or read of `file`, by its errno. */
export function processMemoryError(pid: number, file: string, error: unknown): ProcessMemoryError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ESRCH')
    return new ProcessMemoryError(`cannot read ${file}: process ${pid} does not exist (any more)`, 'exited', error);
  if (code === 'EACCES' || code === 'EPERM') {
    return new ProcessMemoryError(
      `cannot read ${file}: permission denied; reading another user's process needs root (or CAP_SYS_PTRACE) and a kernel.yama.ptrace_scope that allows it`,
      'no-permission',
      error,
    );
  }
  return new ProcessMemoryError(`cannot read ${file}: ${code ?? String(error)}`, 'unreadable', error);
}

/**
 * What a snapshot says of a read that failed: the message of a process memtrace may not read, for
 * a note. Anything else is rethrown: a process gone ends the snapshot as any read of it would, and
 * an error that is not the process's (a bug) must not read as "not read".
 */
export function unreadableNote(error: unknown): string {
  if (!(error instanceof ProcessMemoryError) || error.reason === 'exited') throw error;
  return error.message;
}

/** Whether the process still runs: a read of its memory that returns nothing means "gone" only if not. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    return !/^\S+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
}
