// Why memtrace waits a moment before it asks bpftrace to stop. Every bpftrace from 0.17 to 0.27
// drops, uncounted, each record it reads from its buffers once SIGINT or SIGTERM has arrived: its
// printer returns at once when the exit signal was received, and only the records still unread go
// through the drain after END. A record the probes wrote just before the stop is therefore lost
// when bpftrace has been woken for it but has not run yet (measured with a bpftrace starved of CPU:
// the record's printf lost in 6 of 8 stops on 0.17 and 6 of 6 on 0.23 and 0.27, while a count()
// map of the same probe said 1; in CI, cli-gc's Ctrl-C test once counted 22 of 23 collections).
//
// A signal that finds bpftrace asleep in epoll_wait only ends that wait: whatever the probes write
// afterwards stays unread and comes out in the drain. So memtrace sends the stop when bpftrace's
// main thread sleeps there, which means it has read everything written until then. It waits at
// most SETTLE_LIMIT_MS: a tracer kept busy by a busy target, or stopped, is signalled anyway.
import { readFile } from 'node:fs/promises';
import { delay, processStat } from './target.js';

/** How long memtrace waits for the tracer to be idle before it sends the stop regardless. */
export const SETTLE_LIMIT_MS = 1_000;
const POLL_MS = 5;

/** The kernel's PF_EXITING task flag: the process is dying (a SIGKILLed bpftrace takes seconds removing its uprobes). */
const PF_EXITING = 0x4;

/** epoll_wait, epoll_pwait and epoll_pwait2 on x86_64, epoll_pwait and epoll_pwait2 on arm64: for kernels without wchan. */
const EPOLL_SYSCALLS: Readonly<Record<string, readonly number[]>> = { x64: [232, 281, 441], arm64: [22, 441] };

/**
 * Whether `pid`'s main thread sleeps waiting for its event buffers: state S (`state`, when the
 * caller has just read it), and in epoll_wait by its wait channel (or, where the kernel shows
 * none, by its system call number).
 */
export async function waitsInEpoll(pid: number, state?: string): Promise<boolean> {
  if ((state ?? (await processStat(pid))?.state) !== 'S') return false;
  const [wchan, syscall] = await Promise.all([readProc(pid, 'wchan'), readProc(pid, 'syscall')]);
  if (wchan !== null && wchan !== '' && wchan !== '0') return wchan.includes('epoll');
  const number = Number(syscall?.split(' ')[0]);
  return (EPOLL_SYSCALLS[process.arch] ?? []).includes(number);
}

/**
 * Resolves once bpftrace (`pid`) sleeps in epoll_wait, or is gone or dying, or after `limitMs`:
 * true when a stop can lose nothing (it was found idle, having read everything its probes wrote
 * until then, or it is ending anyway), false when it was still behind at the limit.
 */
export async function settleTracer(pid: number, limitMs = SETTLE_LIMIT_MS): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const task = await processStat(pid);
    if (task === null || task.state === 'Z' || task.state === 'X' || (task.flags & PF_EXITING) !== 0) return true;
    if (await waitsInEpoll(pid, task.state)) return true;
    if (Date.now() >= deadline) return false;
    await delay(POLL_MS);
  }
}

async function readProc(pid: number, name: string): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/${name}`, 'utf8')).trim();
  } catch {
    return null;
  }
}
