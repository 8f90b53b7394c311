// The Series model: memory values of a process sampled over time, with labels ("marks").
// `memtrace process` writes it as JSON lines (one record a line, see ProcessLogRecord), the
// in-process ProcessSampler writes the same lines, pymemtrace's process logs are read into it,
// and every time plot (svg, html, gnuplot, table, tsv) renders it.
import { BoundedRuns } from './bounded-runs.js';

/** The values a sample can carry, all in bytes. `rss` is always there. */
export const SERIES_VALUE_NAMES = ['rss', 'vsz', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'] as const;
export type SeriesValueName = (typeof SERIES_VALUE_NAMES)[number];

/** What each value is, for legends, table headers and Prometheus HELP lines. */
export const SERIES_VALUE_HELP: Record<SeriesValueName, string> = {
  rss: 'resident set size',
  vsz: 'virtual memory size',
  heapUsed: 'V8 heap used',
  heapTotal: 'V8 heap total',
  external: 'memory of C++ objects bound to JavaScript objects',
  arrayBuffers: 'memory of ArrayBuffers and SharedArrayBuffers',
};

export interface SeriesHeader {
  tool: 'process';
  /** Format version of the JSON lines log. */
  version: 1;
  /** Who wrote the log: memtrace's CLI, its in-process API, or pymemtrace (read only). */
  source: 'memtrace' | 'memtrace-api' | 'pymemtrace';
  target: { pid: number; command?: string[] };
  /** Seconds between samples. */
  interval: number;
  host: string;
  platform: string;
  /** ISO 8601 wall clock of elapsed = 0. */
  start: string;
  pageSize?: number;
  /** Whether samples list the target's descendants (--children). */
  children?: boolean;
  /** Whether the sampler expected V8 heap figures (a launched Node program, with memtrace's preload). */
  heap?: boolean;
}

/** One descendant of the target in a --children sample. */
export interface ChildSample {
  pid: number;
  ppid: number;
  /** The process's command name (comm). */
  name: string;
  rss: number;
  vsz?: number;
}

export interface SeriesSample {
  /** ISO 8601 wall clock. */
  t: string;
  /** Seconds since the header's start. */
  elapsed: number;
  pid: number;
  rss: number;
  vsz?: number;
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  arrayBuffers?: number;
  /** With --children: each descendant, and the sums over the target and them. */
  children?: ChildSample[];
  totalRss?: number;
  totalVsz?: number;
}

export interface SeriesMark {
  t: string;
  elapsed: number;
  text: string;
  /** Where the mark came from: the API (sampler.mark), `memtrace mark`, a signal, or a log. */
  source: 'api' | 'cli' | 'signal' | 'log';
}

export type StopReason = 'target-exited' | 'duration' | 'signal' | 'stopped' | 'error';

export interface SeriesStop {
  t: string;
  elapsed: number;
  reason: StopReason;
  /** Samples written. */
  samples: number;
  /** Ticks that could not be sampled (the process had gone, /proc unreadable); never dropped silently. */
  missed: number;
  /** Exit status of the target, when it exited while sampled and memtrace was its parent. */
  exitCode?: number | null;
  exitSignal?: string | null;
  /** When heap figures were expected (header.heap): how many samples carry them, and why the others do not. */
  heap?: HeapCoverage;
}

/**
 * How many samples of a Node program carry V8 heap figures, and why the others lack them: never
 * dropped silently. Every sample is one of `samples`, `beforeFirst` or `late`.
 */
export interface HeapCoverage {
  /** Samples with heapUsed and heapTotal. */
  samples: number;
  /** Samples without, taken before the program first reported (Node starting, the preload not loaded yet). */
  beforeFirst: number;
  /** Samples without, taken after it: no figures fresh enough (see `why`). */
  late: number;
  /**
   * How the program reported: `inspector` (a worker thread asks V8, whether the event loop is busy
   * or not), `timer` (the main thread's timer alone: only while the event loop is free), `none`.
   */
  via: 'inspector' | 'timer' | 'none';
  /** Why samples lack figures, in words, when some do. */
  why?: string;
}

export interface Series {
  header: SeriesHeader;
  samples: SeriesSample[];
  marks: SeriesMark[];
  /** null: the log ended without a stop record (the sampler was killed, or the log was cut). */
  stop: SeriesStop | null;
  /** Lines that could not be read, when read leniently. */
  badLines: number;
  /**
   * Present when there were more samples than a series keeps in memory (MAX_KEPT_SAMPLES): `read`
   * samples came in, and of each run of `every` consecutive ones only the highest RSS was kept
   * (the first and the last sample are always kept, so the peak, the start and the end are exact).
   */
  decimation?: { read: number; every: number };
}

/** One line of a memtrace process log. */
export type ProcessLogRecord =
  | ({ type: 'header' } & SeriesHeader)
  | ({ type: 'sample' } & SeriesSample)
  | ({ type: 'mark' } & SeriesMark)
  | ({ type: 'stop' } & SeriesStop);

/** The values present in at least one sample, in SERIES_VALUE_NAMES order. */
export function presentValues(series: Series): SeriesValueName[] {
  return SERIES_VALUE_NAMES.filter((name) => series.samples.some((sample) => typeof sample[name] === 'number'));
}

/** The sample at or just before `elapsed` (marks are placed on the RSS line by this). */
export function sampleAt(series: Series, elapsed: number): SeriesSample | null {
  let found: SeriesSample | null = null;
  for (const sample of series.samples) {
    if (sample.elapsed > elapsed) break;
    found = sample;
  }
  return found;
}

/**
 * How many samples a Series keeps in memory. A process log of a week at 10 Hz holds six million;
 * beyond this bound samples are decimated (see Series.decimation), so that a log of any length is
 * read, and a sampler runs for any time, in bounded memory (about 300 B a sample).
 */
export const MAX_KEPT_SAMPLES = 200_000;

/**
 * Folds log records, in order, into a Series: the one place that knows how records make a series,
 * used by the sampler (for its final reports) and by the log readers. Memory is bounded: past
 * `maxSamples`, each run of consecutive samples is reduced to the one with the highest RSS, runs
 * twice as long each time the bound is reached again.
 */
export class SeriesBuilder {
  private header: SeriesHeader | null = null;
  private readonly samples: BoundedRuns<SeriesSample>;
  private last: SeriesSample | null = null;
  private readonly marks: SeriesMark[] = [];
  private stop: SeriesStop | null = null;
  badLines = 0;

  constructor(maxSamples: number = MAX_KEPT_SAMPLES) {
    this.samples = new BoundedRuns(maxSamples, (candidate, held) => candidate.rss > held.rss, 'SeriesBuilder: maxSamples');
  }

  get hasHeader(): boolean {
    return this.header !== null;
  }

  add(record: ProcessLogRecord): void {
    const { type, ...rest } = record;
    switch (type) {
      case 'header':
        this.header = rest as SeriesHeader;
        break;
      case 'sample':
        this.addSample(rest as SeriesSample);
        break;
      case 'mark':
        this.marks.push(rest as SeriesMark);
        break;
      case 'stop':
        this.stop = rest as SeriesStop;
        break;
    }
  }

  private addSample(sample: SeriesSample): void {
    this.last = sample;
    this.samples.push(sample);
  }

  /** The series so far; throws if no header was added (the caller names the file). */
  build(): Series {
    if (this.header === null) throw new Error('a process log starts with a header record');
    const samples = this.samples.items();
    if (this.last !== null && samples.at(-1) !== this.last) samples.push(this.last);
    const series: Series = { header: this.header, samples, marks: this.marks, stop: this.stop, badLines: this.badLines };
    if (this.samples.runLength > 1) series.decimation = { read: this.samples.read, every: this.samples.runLength };
    return series;
  }
}

export interface SeriesSummary {
  samples: number;
  duration: number;
  first: SeriesSample | null;
  last: SeriesSample | null;
  peak: SeriesSample | null;
  /** Why the series ended, in words, or why we cannot tell. */
  ending: string;
}

export function summarizeSeries(series: Series): SeriesSummary {
  const { samples, stop } = series;
  const peak = samples.reduce<SeriesSample | null>((best, sample) => (best === null || sample.rss > best.rss ? sample : best), null);
  const first = samples[0] ?? null;
  const last = samples.at(-1) ?? null;
  const duration = (stop?.elapsed ?? last?.elapsed ?? 0) - (first?.elapsed ?? 0);
  return { samples: series.decimation?.read ?? samples.length, duration, first, last, peak, ending: describeEnding(series) };
}

function describeEnding(series: Series): string {
  const stop = series.stop;
  if (stop === null) return 'the log is cut: no stop record (the sampler was killed, or the file was truncated)';
  switch (stop.reason) {
    case 'target-exited':
      return `the process exited${stop.exitCode !== undefined && stop.exitCode !== null ? ` (code ${stop.exitCode})` : stop.exitSignal ? ` (${stop.exitSignal})` : ''}`;
    case 'duration':
      return 'the duration was reached';
    case 'signal':
      return 'interrupted';
    case 'stopped':
      return 'stopped';
    case 'error':
      return 'stopped by an error';
  }
}

/** What a decimated series lost, in words for every report, or null when it kept every sample. */
export function decimationNote(series: Series): string | null {
  const decimation = series.decimation;
  if (decimation === undefined) return null;
  return `memory bounded: ${decimation.read.toLocaleString('en-US')} samples read, ${series.samples.length.toLocaleString('en-US')} kept (the highest RSS of each ${decimation.every} in a row; start, peak and end exact)`;
}

/**
 * What the samples' heap figures cover, in words for every report and for memtrace's stderr, or null
 * when no figures were expected or every sample has them.
 */
export function heapCoverageNote(series: Series): string | null {
  const coverage = series.stop?.heap;
  if (coverage === undefined) {
    if (series.header.heap !== true) return null;
    // A cut log (no stop record): count what is there.
    const withHeap = series.samples.filter((sample) => typeof sample.heapUsed === 'number').length;
    if (withHeap === series.samples.length) return null;
    return `heap figures in ${withHeap} of ${series.samples.length} samples (the log is cut: no count of why)`;
  }
  const total = coverage.samples + coverage.beforeFirst + coverage.late;
  if (coverage.samples === total) return null;
  const parts = [`heap figures in ${coverage.samples} of ${total} samples`];
  if (coverage.beforeFirst > 0 && coverage.samples > 0)
    parts.push(`${coverage.beforeFirst} before the program's first figures (Node starting)`);
  if (coverage.late > 0) parts.push(`${coverage.late} without fresh figures`);
  return `${parts.join('; ')}${coverage.why === undefined ? '' : `: ${coverage.why}`}`;
}

/** For each mark, the index of the first sample taken at or after it (-1 if none). */
export function markSampleIndexes(series: Series): number[] {
  return series.marks.map((mark) => series.samples.findIndex((sample) => sample.elapsed >= mark.elapsed));
}

/** Text safe to print on one line: control characters (from a foreign log) become spaces. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}
