// The in-process face of `memtrace process`: a Node program samples its own memory (or another
// process's) and labels the log itself.
//
//   const sampler = new ProcessSampler({ interval: 0.25, output: 'mem.jsonl' }).start();
//   loadRows(); sampler.mark('loaded 1M rows');
//   const series = await sampler.stop();
//
// It writes the same JSON lines log as the CLI (source "memtrace-api"), read by `memtrace report`.
// Its timer never keeps the program alive, and if the program exits first the log still ends with a
// stop record, written synchronously from the 'exit' event.
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { SeriesBuilder, type ProcessLogRecord, type Series, type SeriesSample, type StopReason } from '../model/series.js';
import { validateMarkText } from '../sample/mark-channel.js';
import { memorySource } from '../sample/memory-source.js';
import { pageSize } from '../sample/linux-proc.js';
import { fileLogSink, streamLogSink, type LogSink } from '../sample/process-log-writer.js';
import { INTERVAL_RANGE_MS, Sampler, type HeapValues } from '../sample/sampler.js';

export interface ProcessSamplerOptions {
  /** Seconds between samples (default 1; at least 0.01). */
  interval?: number;
  /** Where the log goes as it is sampled: a file path or a writable stream; none by default. */
  output?: string | NodeJS.WritableStream | null;
  /** The process to sample (default: this one). */
  pid?: number;
  /** Also sample the process's descendants. */
  children?: boolean;
  /** V8 heap figures with each sample (default: when sampling this process; impossible for another). */
  heap?: boolean;
}

export class ProcessSampler {
  private readonly sampler: Sampler;
  private readonly builder = new SeriesBuilder();
  private readonly log: LogSink | null;
  private readonly onExit = () => {
    this.sampler.stopNow('target-exited');
    this.finish();
  };
  private started = false;

  constructor(options: ProcessSamplerOptions = {}) {
    const interval = options.interval ?? 1;
    if (!(typeof interval === 'number' && interval * 1000 >= INTERVAL_RANGE_MS.min && interval * 1000 <= INTERVAL_RANGE_MS.max)) {
      throw new UsageError(`ProcessSampler: interval is in seconds, from 0.01 to 3600, got ${String(interval)}`);
    }
    const pid = options.pid ?? process.pid;
    if (!Number.isInteger(pid) || pid < 1) throw new UsageError(`ProcessSampler: pid must be a positive integer, got ${String(pid)}`);
    const self = pid === process.pid;
    if (options.heap === true && !self) throw new UsageError('ProcessSampler: heap figures can only be taken of this process');
    const heap = options.heap ?? self;
    this.log =
      options.output === undefined || options.output === null
        ? null
        : typeof options.output === 'string'
          ? fileLogSink(options.output)
          : streamLogSink(options.output);
    const sink = (record: ProcessLogRecord): void => {
      this.builder.add(record);
      this.log?.write(record);
    };
    this.sampler = new Sampler({
      header: {
        tool: 'process',
        version: 1,
        source: 'memtrace-api',
        target: { pid, command: self ? [process.argv0, ...process.argv.slice(1)] : undefined },
        interval,
        host: hostname(),
        platform: process.platform,
        start: new Date().toISOString(),
        pageSize: process.platform === 'linux' ? pageSize() : undefined,
        children: options.children === true,
      },
      source: memorySource(pid),
      sink,
      heap: heap ? currentHeap : undefined,
      ref: false,
    });
  }

  /** Writes the header and the first sample, and samples every interval from then on. */
  start(): this {
    if (this.started) throw new UsageError('ProcessSampler: already started');
    this.started = true;
    process.once('exit', this.onExit);
    this.sampler.start();
    return this;
  }

  /** Labels this moment (a vertical line on the plots); a sample is taken with it. */
  mark(text: string): void {
    if (!this.started || this.sampler.isStopped) throw new UsageError('ProcessSampler: mark() between start() and stop()');
    this.sampler.mark(validateMarkText(text), 'api');
  }

  /** The latest sample, or null before the first. */
  get latest(): SeriesSample | null {
    return this.sampler.latest;
  }

  /** The series so far. */
  get series(): Series {
    return this.builder.build();
  }

  /** Takes a last sample, writes the stop record, closes the log; returns the whole series. */
  async stop(reason: StopReason = 'stopped'): Promise<Series> {
    if (!this.started) throw new UsageError('ProcessSampler: stop() before start()');
    await this.sampler.stop(reason);
    this.finish();
    return this.builder.build();
  }

  /** Settles when the sampled process has gone (for a pid other than this one). */
  get gone(): Promise<void> {
    return this.sampler.gone;
  }

  private finish(): void {
    process.off('exit', this.onExit);
    this.log?.close();
  }
}

function currentHeap(): HeapValues {
  const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, heapTotal, external, arrayBuffers };
}
