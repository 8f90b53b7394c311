// Samples one process's memory at a fixed interval and hands each record of the log (header,
// samples, marks, stop) to a sink as it happens, so whatever reads them (the log file, the
// Prometheus endpoint, the in-memory series for the final reports) is never more than a sample behind.
//
// Ticks are scheduled against a deadline (start + k × interval), not chained delays, so the series
// does not drift; a tick that could not run in time (the event loop was blocked, a `ps` was slow)
// is counted as missed, never silently skipped.
import type {
  ChildSample,
  HeapCoverage,
  ProcessLogRecord,
  SeriesHeader,
  SeriesMark,
  SeriesSample,
  SeriesStop,
  StopReason,
} from '../model/series.js';
import type { ProcessMemory } from './linux-proc.js';
import type { MemorySource } from './memory-source.js';

/**
 * V8's figures for the target, when it is a Node program that reports them. `external` and
 * `arrayBuffers` come only from process.memoryUsage(), which a busy program does not run.
 */
export interface HeapValues {
  heapUsed: number;
  heapTotal: number;
  external?: number;
  arrayBuffers?: number;
}

/** The intervals a sampler accepts, CLI and API alike: below 10 ms a Node timer is not one. */
export const INTERVAL_RANGE_MS = { min: 10, max: 3_600_000 } as const;

export interface SamplerOptions {
  header: SeriesHeader;
  source: MemorySource;
  /** Latest heap values of the target, if any (pushed by the preload, or read in-process). */
  heap?: () => HeapValues | null;
  /** How many samples carried heap figures and why the others did not, for the stop record. */
  heapCoverage?: () => HeapCoverage;
  sink: (record: ProcessLogRecord) => void;
  /** Keep the Node event loop alive while sampling (false for the in-process API). */
  ref?: boolean;
}

export class Sampler {
  readonly header: SeriesHeader;
  latest: SeriesSample | null = null;
  samples = 0;
  missed = 0;
  marks = 0;
  /** Settles when the target has gone (its memory can no longer be read). */
  readonly gone: Promise<void>;

  private readonly options: SamplerOptions;
  private readonly intervalMs: number;
  private readonly startMs = performance.now();
  private readonly startWall: number;
  private timer: NodeJS.Timeout | null = null;
  private tick = 0;
  private busy: Promise<void> = Promise.resolve();
  private stopped: SeriesStop | null = null;
  private markGone!: () => void;

  constructor(options: SamplerOptions) {
    this.options = options;
    this.header = options.header;
    this.intervalMs = options.header.interval * 1000;
    this.startWall = Date.parse(options.header.start);
    this.gone = new Promise((resolve) => (this.markGone = resolve));
  }

  /** Writes the header and the first sample (elapsed 0), then samples every interval. */
  start(): void {
    this.options.sink({ type: 'header', ...this.header });
    this.sampleNow();
    this.schedule();
  }

  /** Adds a label at this moment, followed by a sample so the plot shows the value it labels. */
  mark(text: string, source: SeriesMark['source']): SeriesMark | null {
    if (this.stopped !== null) return null;
    const mark: SeriesMark = { ...this.clock(), text, source };
    this.marks += 1;
    this.options.sink({ type: 'mark', ...mark });
    this.sampleNow();
    return mark;
  }

  /** Takes a last sample (if the target is still there), writes the stop record, stops the clock. */
  async stop(reason: StopReason, exit: { exitCode?: number | null; exitSignal?: string | null } = {}): Promise<SeriesStop> {
    if (this.stopped !== null) return this.stopped;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.busy;
    if (reason !== 'target-exited') await this.sample();
    this.stopped = { ...this.clock(), reason, samples: this.samples, missed: this.missed, ...exit, ...this.heapCoverage() };
    this.options.sink({ type: 'stop', ...this.stopped });
    this.options.source.close();
    return this.stopped;
  }

  /**
   * Writes the stop record at once, without a last sample: for a process's 'exit' event, where
   * nothing asynchronous runs any more.
   */
  stopNow(reason: StopReason): SeriesStop {
    if (this.stopped !== null) return this.stopped;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.stopped = { ...this.clock(), reason, samples: this.samples, missed: this.missed, ...this.heapCoverage() };
    this.options.sink({ type: 'stop', ...this.stopped });
    this.options.source.close();
    return this.stopped;
  }

  get isStopped(): boolean {
    return this.stopped !== null;
  }

  private heapCoverage(): { heap?: HeapCoverage } {
    return this.options.heapCoverage === undefined ? {} : { heap: this.options.heapCoverage() };
  }

  private clock(): { t: string; elapsed: number } {
    const elapsedMs = performance.now() - this.startMs;
    return { t: new Date(this.startWall + elapsedMs).toISOString(), elapsed: Math.round(elapsedMs * 1000) / 1e6 };
  }

  private schedule(): void {
    if (this.stopped !== null) return;
    const now = performance.now() - this.startMs;
    let next = this.tick + 1;
    const due = Math.floor(now / this.intervalMs);
    if (due > next) {
      this.missed += due - next;
      next = due;
    }
    this.tick = next;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.sampleNow();
        this.schedule();
      },
      Math.max(0, next * this.intervalMs - now),
    );
    if (this.options.ref === false) this.timer.unref();
  }

  /** Samples now: synchronously where the source can (/proc), else queued behind the last sample (ps). */
  private sampleNow(): void {
    const { source } = this.options;
    if (source.readSync !== undefined) {
      if (this.stopped !== null) return;
      let reading: { memory: ProcessMemory | null; children: ChildSample[] } = { memory: null, children: [] };
      try {
        reading = source.readSync(this.header.children === true);
      } catch {
        // unreadable: treated as gone
      }
      this.record(reading.memory, reading.children);
      return;
    }
    this.busy = this.busy.then(() => this.sampleAsync());
  }

  private async sample(): Promise<void> {
    const { source } = this.options;
    if (source.readSync !== undefined) return this.sampleNow();
    return this.sampleAsync();
  }

  private async sampleAsync(): Promise<void> {
    if (this.stopped !== null) return;
    const { source } = this.options;
    const memory = await source.target().catch(() => null);
    const children = memory !== null && this.header.children === true ? await source.children().catch(() => []) : [];
    this.record(memory, children);
  }

  private record(memory: ProcessMemory | null, children: ChildSample[]): void {
    if (this.stopped !== null) return;
    if (memory === null) {
      // The target has gone: not a missed sample, the end of the series (the owner stops us).
      this.markGone();
      return;
    }
    const { t, elapsed } = this.clock();
    const sample: SeriesSample = { t, elapsed, pid: this.header.target.pid, rss: memory.rss, vsz: memory.vsz };
    const heap = this.options.heap?.() ?? null;
    if (heap !== null) {
      sample.heapUsed = heap.heapUsed;
      sample.heapTotal = heap.heapTotal;
      if (heap.external !== undefined) sample.external = heap.external;
      if (heap.arrayBuffers !== undefined) sample.arrayBuffers = heap.arrayBuffers;
    }
    if (this.header.children === true) {
      sample.children = children;
      sample.totalRss = children.reduce((sum, child) => sum + child.rss, memory.rss);
      sample.totalVsz = children.reduce((sum, child) => sum + (child.vsz ?? 0), memory.vsz);
    }
    this.samples += 1;
    this.latest = sample;
    this.options.sink({ type: 'sample', ...sample });
  }
}
