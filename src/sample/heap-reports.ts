// The heap figures a launched Node program sends through memtrace's preload, kept for the sampler:
// each sample takes the figures that are fresh at that moment, and every sample without them is
// counted with the reason (HeapCoverage), never left out silently.
//
// The preload sends from two places (src/node/preload/process.cts): its worker thread sends
// heapUsed and heapTotal, asked of V8 through the inspector whether the program is busy or not;
// the main thread's timer sends all four figures, but only while the event loop is free. A sample
// takes heapUsed and heapTotal from the fresher of the two, and external and arrayBuffers from the
// timer when its figures are fresh.
//
// For a process memtrace attached to (`-p PID --attach-inspector`, node/inspector-attach.ts), memtrace
// asks the program's inspector itself and reports every figure via 'inspector'.
import type { HeapCoverage } from '../model/series.js';
import type { HeapValues } from './sampler.js';

export type HeapVia = 'inspector' | 'timer';

/** Who sends the figures: the preload in a launched program, or memtrace through an attached process's inspector. */
export type HeapOrigin = 'preload' | 'attached';

interface Received {
  values: HeapValues;
  atMs: number;
}

export class HeapReports {
  private readonly fromVia: Partial<Record<HeapVia, Received>> = {};
  private readonly coverage: HeapCoverage = { samples: 0, beforeFirst: 0, late: 0, via: 'none' };
  private workerProblem: string | null = null;
  /** Figures older than this at a sample are not that sample's: two intervals, and some slack for a loaded machine. */
  private readonly freshMs: number;

  constructor(
    /** The sampled program: its children load the preload too and report under their own PIDs. */
    private readonly pid: number,
    intervalMs: number,
    private readonly origin: HeapOrigin = 'preload',
    private readonly now: () => number = () => performance.now(),
  ) {
    this.freshMs = 2 * intervalMs + 50;
  }

  /** A `{"heap": …}` message from the channel. */
  heap(pid: number, values: HeapValues, via: HeapVia): void {
    if (pid !== this.pid) return;
    this.fromVia[via] = { values, atMs: this.now() };
    if (this.coverage.via !== 'inspector') this.coverage.via = via;
  }

  /** A `{"preload": …}` message: how the program reports, and why its worker is not running when it is not. */
  preload(pid: number, via: HeapVia, why: string | undefined): void {
    if (pid !== this.pid) return;
    if (via === 'inspector') this.coverage.via = 'inspector';
    else if (why !== undefined) this.workerProblem = why;
  }

  /** The figures for a sample taken now, or null (counted, with the reason). */
  read(): HeapValues | null {
    const now = this.now();
    const fresh = (via: HeapVia): HeapValues | null => {
      const received = this.fromVia[via];
      return received !== undefined && now - received.atMs <= this.freshMs ? received.values : null;
    };
    const inspector = fresh('inspector');
    const timer = fresh('timer');
    if (inspector === null && timer === null) {
      // Before the first figures (the worker's hello may come first), Node is still starting.
      if (this.fromVia.inspector === undefined && this.fromVia.timer === undefined) this.coverage.beforeFirst += 1;
      else this.coverage.late += 1;
      return null;
    }
    this.coverage.samples += 1;
    const newest = timer === null || (inspector !== null && this.fromVia.inspector!.atMs > this.fromVia.timer!.atMs) ? inspector! : timer;
    const values: HeapValues = { heapUsed: newest.heapUsed, heapTotal: newest.heapTotal };
    // The preload's worker sends no external figures (the inspector of an attached process does).
    const external = newest.external !== undefined ? newest : timer;
    if (external?.external !== undefined) values.external = external.external;
    if (external?.arrayBuffers !== undefined) values.arrayBuffers = external.arrayBuffers;
    return values;
  }

  /** The counts so far, with why samples lack figures (for the stop record). */
  summary(): HeapCoverage {
    const coverage = { ...this.coverage };
    const why = this.why();
    if (why !== undefined) coverage.why = why;
    return coverage;
  }

  private why(): string | undefined {
    const { via, late, beforeFirst } = this.coverage;
    if (this.origin === 'attached') {
      if (via === 'none')
        return beforeFirst === 0
          ? undefined
          : "the program's inspector never answered (a long native call or garbage collection, or the process is stopped?)";
      return late === 0 ? undefined : this.lateThroughInspector();
    }
    if (via === 'none') {
      return beforeFirst === 0
        ? undefined
        : "the program never reported: it did not load memtrace's preload (a wrapper or the program replaced NODE_OPTIONS?), or ended before Node had started";
    }
    if (this.coverage.samples === 0 && late === 0) {
      return 'its worker started, and the main thread never answered: it ran no JavaScript while sampled (a synchronous child process, a long native call or garbage collection)';
    }
    if (late === 0) return undefined;
    if (via === 'timer') {
      return `the program's event loop was busy, and only its timer reports then${this.workerProblem === null ? ' (its heap worker did not start)' : ` (${this.workerProblem})`}`;
    }
    return this.lateThroughInspector();
  }

  private lateThroughInspector(): string {
    return `no figures from the last ${this.freshMs} ms: V8 answers between two JavaScript instructions, not during a long garbage collection or native call, and a machine short of CPU delays the answer`;
  }
}
