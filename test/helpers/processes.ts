// What the fault-injection tests look at in /proc: a process's descendants (bpftrace, setpriv, the
// watchdog's shell, the launched command), whether one of them is still there (the same process,
// not a reused PID: its start time is compared), and its state letter. Also the seeded random
// moments the faults are injected at, so that a failing run can be replayed.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat): tells a reused PID apart. */
  startTicks: string;
  cmdline: string;
}

/** One process as /proc shows it now, or null if it is gone. */
export function processInfo(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return {
      pid,
      ppid: Number(fields[1]),
      comm: stat.slice(stat.indexOf('(') + 1, close),
      state: fields[0]!,
      startTicks: fields[19]!,
      cmdline,
    };
  } catch {
    return null;
  }
}

export function allProcesses(): ProcessInfo[] {
  const processes: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info !== null) processes.push(info);
  }
  return processes;
}

/** Every process whose parent chain leads to `root` (not `root` itself). */
export function descendantsOf(root: number): ProcessInfo[] {
  const all = allProcesses();
  const children = new Map<number, ProcessInfo[]>();
  for (const info of all) children.set(info.ppid, [...(children.get(info.ppid) ?? []), info]);
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** True while the very process `info` describes (same PID, same start time) exists and is not a zombie. */
export function stillThere(info: ProcessInfo): boolean {
  const now = processInfo(info.pid);
  return now !== null && now.startTicks === info.startTicks && now.state !== 'Z';
}

/**
 * bpftrace itself, or bpftrace run through a root file system's loader (the compat leg's Debian 13
 * bpftrace, test/compat/build-root.sh), whose command name is the loader's.
 */
export function isBpftrace(info: ProcessInfo): boolean {
  return info.comm === 'bpftrace' || (info.comm.startsWith('ld-linux') && /\/bpftrace( |$)/.test(info.cmdline));
}

/** The watchdog's detached shell (src/run/watchdog.ts): told apart from the launch shim by its script. */
export function isGuard(info: ProcessInfo): boolean {
  return info.comm === 'sh' && info.cmdline.includes('while read -r kind pid');
}

/**
 * Polls the descendants of memtrace every 50 ms while a test runs, remembering every one it saw, so
 * that afterwards each can be checked gone (an orphan is re-parented to init and would no longer
 * be found under memtrace). Also finds bpftrace, which setpriv execs in place.
 */
export class DescendantWatch {
  private readonly seen = new Map<string, ProcessInfo>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly root: number) {
    this.timer = setInterval(() => this.poll(), 50);
    // A failed test must not keep the test process alive.
    this.timer.unref();
    this.poll();
  }

  poll(): void {
    for (const info of descendantsOf(this.root)) {
      // Always the latest reading: the launch shim becomes the command, setpriv becomes bpftrace,
      // and a process read in the middle of its exec has its new name but an empty cmdline (the
      // kernel sets the name before the new arguments): keeping that first reading once hid the
      // tracing bpftrace from bpftrace() for its whole minute.
      this.seen.set(`${info.pid}:${info.startTicks}`, info);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * The first bpftrace seen under memtrace, waiting for it up to `timeoutMs` or until `over()`: a
   * wait left polling after memtrace ended kept the test file's process alive for the rest of its
   * minute.
   */
  async bpftrace(timeoutMs = 60_000, over: () => boolean = () => false): Promise<ProcessInfo> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !over()) {
      this.poll();
      // The tracing bpftrace, not the `bpftrace --version` memtrace asks first.
      const found = [...this.seen.values()].find((info) => isBpftrace(info) && info.cmdline.includes(' -f json ') && stillThere(info));
      if (found !== undefined) return found;
      await sleep(5);
    }
    throw new Error(`no bpftrace appeared under PID ${this.root} within ${timeoutMs} ms, or before memtrace ended`);
  }

  all(): ProcessInfo[] {
    return [...this.seen.values()];
  }

  /** Everything seen that still runs, but for the processes the test expects to live on (the target). */
  leftovers(except: number[] = []): string[] {
    return this.all()
      .filter((info) => !except.includes(info.pid) && stillThere(info))
      .map((info) => `${info.pid} ${info.comm} (${info.cmdline.slice(0, 80)})`);
  }
}

/** Any bpftrace, setpriv or watchdog shell on the machine that traces `pid` or was seen under memtrace. */
export function tracersOf(pid: number): string[] {
  return allProcesses()
    .filter((info) => (isBpftrace(info) || info.comm === 'setpriv') && info.cmdline.includes(` -p ${pid} `))
    .map((info) => `${info.pid} ${info.comm} ${info.cmdline.slice(0, 80)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A small seeded generator (mulberry32): MEMTRACE_FAULT_SEED replays a run; otherwise the seed is
 * the time, and each test file prints it.
 */
export function seededRandom(label: string): { seed: number; next: (low: number, high: number) => number } {
  const seed = process.env.MEMTRACE_FAULT_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.MEMTRACE_FAULT_SEED);
  console.log(`${label}: seed ${seed} (replay with MEMTRACE_FAULT_SEED=${seed})`);
  let state = seed >>> 0;
  const unit = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, next: (low, high) => Math.floor(low + unit() * (high - low)) };
}

/** True when a SIGKILL is pending for the process (it is dying: /proc/PID/status SigPnd or ShdPnd, bit 9). */
export function killPending(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return [/^SigPnd:\s*([0-9a-f]+)/m, /^ShdPnd:\s*([0-9a-f]+)/m].some(
      (pattern) => (BigInt(`0x${pattern.exec(status)?.[1] ?? '0'}`) & 0x100n) !== 0n,
    );
  } catch {
    return false;
  }
}
