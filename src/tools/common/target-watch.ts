// What the tracing tools (malloc, external, faults) do for the process they trace while it lives:
// read its memory maps again and again, so that its frames can be named after it has exited, and
// let a launched command go once it has stopped itself in exit() and its maps are read.
import { processState } from '../../run/target.js';
import type { TraceSession } from '../../run/trace-session.js';
import { readProcMaps, type MappingHistory } from '../../symbols/proc-maps.js';

/** How often the maps of a traced process are read. */
export const MAPS_POLL_MS = 250;

export class TargetWatch {
  private pid: number | null = null;
  private holdsSeen = 0;
  private stoppedPolls = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: {
      history: MappingHistory;
      /** A command memtrace launched (held at exit), as opposed to an attached process. */
      launched: boolean;
      /** Where a command found stopped without its hold marker is reported. */
      notes: string[];
      /** Anything else to read from the process while it lives (a perf map's path). */
      alsoRead?: (pid: number) => Promise<void>;
    },
  ) {}

  /** The traced PID, once known. */
  get tracedPid(): number | null {
    return this.pid;
  }

  /**
   * An attached target's maps, read before tracing starts: a target that exits right after the
   * trace begins would be gone before the first read of the polling.
   */
  async before(pid: number): Promise<void> {
    this.pid = pid;
    await this.readMaps();
  }

  /** Tracing has started on `pid`: read now, and every MAPS_POLL_MS. */
  started(pid: number, session: TraceSession): void {
    this.pid = pid;
    void this.readMaps();
    this.timer = setInterval(() => void this.poll(session), MAPS_POLL_MS);
  }

  /** The target stopped itself in exit(): read its maps while they exist, then let it exit. */
  held(pid: number, session: TraceSession): void {
    this.holdsSeen += 1;
    session.noteHeld(pid);
    void this.readMaps().then(() => session.releaseHeld(pid));
  }

  stopPolling(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async readMaps(): Promise<void> {
    if (this.pid === null) return;
    try {
      this.options.history.add(await readProcMaps(this.pid));
      await this.options.alsoRead?.(this.pid);
    } catch {
      // The process is gone or exiting: what was read before stands.
    }
  }

  // A launched command stops itself in exit() and says so in the program's output; should that
  // line never arrive (it once failed to, under a million calls), a command found stopped on two
  // polls in a row is treated as held: its maps are read and it is continued, and the report says so.
  private async poll(session: TraceSession): Promise<void> {
    await this.readMaps();
    if (this.pid === null || !this.options.launched) return;
    const state = await processState(this.pid);
    this.stoppedPolls = state === 'T' || state === 't' ? this.stoppedPolls + 1 : 0;
    if (this.stoppedPolls >= 2) {
      this.stoppedPolls = 0;
      if (this.holdsSeen === 0)
        this.options.notes.push(`PID ${this.pid} was found stopped without memtrace's exit-hold marker; memtrace continued it`);
      session.releaseHeld(this.pid);
    }
  }
}
