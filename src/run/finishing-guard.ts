// After its tracer has ended, memtrace still reads the target's last maps, names the stacks and
// writes the reports. A Ctrl-C then, with no handler left, would end memtrace by the signal's
// default action and lose everything the trace gathered. So, while no session listens for signals
// itself (TracerStopper.listen), the first SIGINT, SIGTERM or SIGHUP only says that memtrace is
// writing the report, and a second one leaves at once: a report going to a slow pipe or a big
// program's symbols can take a while, and the user may want out all the same.
import { constants } from 'node:os';

/** The signals that end memtrace: a session turns them into a stop of its tracer, the guard into a warning. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface FinishingIo {
  write(text: string): void;
  exit(code: number): void;
}

const processIo: FinishingIo = {
  write: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
};

export class FinishingGuard {
  private listeningSessions = 0;
  private installed = false;
  private signalsReceived = 0;
  private readonly onSignal = (signal: NodeJS.Signals) => this.handle(signal);

  constructor(private readonly io: FinishingIo = processIo) {}

  /** A session handles memtrace's signals from now until the returned function is called; then the guard does. */
  sessionListens(): () => void {
    if (!this.installed) {
      for (const signal of STOP_SIGNALS) process.on(signal, this.onSignal);
      this.installed = true;
    }
    this.listeningSessions += 1;
    // A signal counts towards leaving only in the ending of the trace it came in.
    this.signalsReceived = 0;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.listeningSessions -= 1;
    };
  }

  handle(signal: NodeJS.Signals): void {
    // A listening session turns the signal into a stop of its tracer.
    if (this.listeningSessions > 0) return;
    this.signalsReceived += 1;
    if (this.signalsReceived > 1) {
      this.io.exit(128 + constants.signals[signal]);
      return;
    }
    this.io.write(
      `memtrace: ${signal}: the trace has ended; writing the report of what it gathered first (${signal} again leaves at once)\n`,
    );
  }

  /** Takes the guard's handlers away (tests; memtrace keeps them until it exits). */
  remove(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal);
    this.installed = false;
  }
}

/** memtrace's one guard: every session of the process goes through it. */
export const finishingGuard = new FinishingGuard();
