// Where each thread's stack is: the stack pointer of every thread of a process, from
// /proc/PID/task/TID/syscall. A thread blocked in a system call (nearly every idle thread: futex,
// epoll_wait, nanosleep) shows "NR ARG1..ARG6 SP PC"; one blocked outside a system call shows
// "-1 SP PC"; one running on a CPU shows only "running", and its stack is found another way (the
// guard page glibc puts below every thread stack). Reading it needs ptrace access: root has it.
//
// Reference: proc(5), "/proc/pid/syscall"; the kernel writes it in fs/proc/base.c (proc_pid_syscall).
import { readdir, readFile } from 'node:fs/promises';

export interface ThreadStackPointer {
  tid: number;
  /** The thread's name (comm). */
  name: string;
  /** The user stack pointer; null while the thread runs, or when the kernel would not say. */
  sp: bigint | null;
}

/** The stack pointer of a thread from the text of its syscall file; null for "running" or an unknown shape. */
export function parseSyscallFile(text: string): bigint | null {
  const fields = text.trim().split(/\s+/);
  // "NR a1 a2 a3 a4 a5 a6 SP PC" (9 fields) or "-1 SP PC" (3): the stack pointer is next to last.
  if ((fields.length !== 9 && fields.length !== 3) || !/^0x[0-9a-f]+$/.test(fields[fields.length - 2]!)) return null;
  return BigInt(fields[fields.length - 2]!);
}

/** Every thread of `pid` with its stack pointer when it can be read; threads that exit meanwhile are left out. */
export async function readThreadStackPointers(pid: number): Promise<ThreadStackPointer[]> {
  const tids = (await readdir(`/proc/${pid}/task`)).map(Number).filter((tid) => Number.isInteger(tid) && tid > 0);
  const threads = await Promise.all(
    tids.map(async (tid): Promise<ThreadStackPointer | null> => {
      const base = `/proc/${pid}/task/${tid}`;
      const name = await readFile(`${base}/comm`, 'utf8').then(
        (text) => text.trimEnd(),
        () => null,
      );
      if (name === null) return null;
      const sp = await readFile(`${base}/syscall`, 'utf8').then(parseSyscallFile, () => null);
      return { tid, name, sp };
    }),
  );
  return threads.filter((thread): thread is ThreadStackPointer => thread !== null).sort((a, b) => a.tid - b.tid);
}
