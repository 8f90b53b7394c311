// The maps of the process DTrace for Linux traces, read while it lives, so that memtrace can name
// its frames after it has exited (DTrace names a frame only while the process lives: later it
// prints 0xADDR). The bpftrace tools hold a launched command in exit() for this; DTrace for Linux
// has no stop(), but it holds a command it launches (-c) stopped, its libraries loaded, while it
// enables the probes: memtrace finds it as dtrace's child and reads its maps then, and again while
// it runs. An attached process (-p) is read before dtrace starts and while it runs.
import { readdir, readFile } from 'node:fs/promises';
import { MappingHistory, readProcMaps } from '../../symbols/proc-maps.js';
import { MAPS_POLL_MS } from '../common/target-watch.js';

/** How often dtrace's children are looked at until its launched command is found. */
const CHILD_POLL_MS = 50;

export class DtraceTargetMaps {
  readonly history = new MappingHistory();
  private pid: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  /** The traced process, once known. */
  get tracedPid(): number | null {
    return this.pid;
  }

  /** An attached process: its maps before tracing starts (a process that exits at once is still named), then polled. */
  async attach(pid: number): Promise<void> {
    this.pid = pid;
    await this.read();
    this.poll(MAPS_POLL_MS);
  }

  /** dtrace runs as `tracerPid` and launches the command: look for its child until found. */
  launching(tracerPid: number): void {
    this.poll(CHILD_POLL_MS, async () => {
      if (this.pid === null) this.pid = await firstChild(tracerPid);
    });
  }

  /** The program said which process it traces (`memtrace:pid PID`): that one, read now. */
  traced(pid: number): void {
    if (this.pid === pid) return;
    this.pid = pid;
    void this.read();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async read(): Promise<void> {
    if (this.pid === null || this.reading) return;
    this.reading = true;
    try {
      this.history.add(await readProcMaps(this.pid));
    } catch {
      // Gone, or exiting: what was read before stands.
    } finally {
      this.reading = false;
    }
  }

  private poll(everyMs: number, before: () => Promise<void> = async () => {}): void {
    this.stop();
    this.timer = setInterval(() => void before().then(() => this.read()), everyMs);
    this.timer.unref();
  }
}

/** The first child of any thread of `pid` (dtrace creates the command from a thread of its own). */
async function firstChild(pid: number): Promise<number | null> {
  try {
    for (const task of await readdir(`/proc/${pid}/task`)) {
      const children = (await readFile(`/proc/${pid}/task/${task}/children`, 'utf8')).trim();
      if (children !== '') return Number(children.split(/\s+/)[0]);
    }
  } catch {
    // dtrace exited, or has not started its thread yet.
  }
  return null;
}
