// Reads a process log into a Series, line by line: memtrace's JSON lines (written by `memtrace
// process` and ProcessSampler), or pymemtrace's process log, told apart by their first lines.
//
// pymemtrace's process tool logs through Python's logging module; the lines that matter carry a
// JSON object after a marker, among other log lines:
//
//   2026-11-23 21:36:41,496 - process.py#300 -  9007 - (ProcMon   ) - INFO     - ProcessLoggingThread-JSON-START {"timestamp": "2026-11-23 21:36:41.478378", "memory_info": {"rss": 49201152, "vms": 128937984, …}, "elapsed_time": 0.7359094619750977, "pid": 9007}
//   … ProcessLoggingThread-JSON {…, "label": "step 0: allocate 32 MiB"}
//   … ProcessLoggingThread-JSON-STOP {…}
//
// Its "timestamp" is the writing machine's local time with no zone; memtrace keeps it as written
// (ISO 8601 without an offset) rather than guess the zone. "elapsed_time" (seconds since the
// Python process started) becomes `elapsed`; a "label" becomes a mark at that sample.
import { ParseError } from '../errors.js';
import { LineShell, logLines, Malformed } from './line-shell.js';
import { SeriesBuilder, type ProcessLogRecord, type Series, type SeriesSample } from '../model/series.js';

export type ProcessLogDialect = 'memtrace' | 'pymemtrace';

const PYMEMTRACE_RECORD = /ProcessLoggingThread-JSON(-START|-STOP)? (\{.*)$/;
const PYMEMTRACE_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - /;
/** cPyMemTrace's trace and profile logs, which are not process logs (src/parse/cpymemtrace-log.ts reads them). */
const CPYMEMTRACE_LOG = /^(SOF|HDR: Event\s+dEvent\s+Clock)/;

/** Whether a first line is that of a cPyMemTrace trace or profile log (refused here with a pointer to its reader). */
export function isCPyMemTraceLog(firstLine: string): boolean {
  return CPYMEMTRACE_LOG.test(firstLine.trim());
}

/** Tells the dialect from a log's first non-empty line, or null if it is not a process log. */
export function detectProcessLog(firstLine: string): ProcessLogDialect | null {
  const line = firstLine.trim();
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as { type?: unknown; tool?: unknown };
      return record.type === 'header' && record.tool === 'process' ? 'memtrace' : null;
    } catch {
      return null;
    }
  }
  return PYMEMTRACE_LINE.test(line) || PYMEMTRACE_RECORD.test(line) ? 'pymemtrace' : null;
}

export interface ReadProcessLogOptions {
  /** Count bad lines instead of stopping at the first. */
  lenient: boolean;
}

export async function readProcessLog(path: string, options: ReadProcessLogOptions): Promise<Series> {
  const reader = new ProcessLogReader(path, options);
  for await (const line of logLines(path)) reader.line(line);
  return reader.end();
}

/**
 * The streaming reader: feed lines in order, then end(). It stands in the line shell: a broken
 * record is a ParseError naming the file and line, or counted under lenient (Series.badLines); a
 * first line that is no process log's stops the read either way.
 */
export class ProcessLogReader {
  private readonly builder = new SeriesBuilder();
  private dialect: ProcessLogDialect | null = null;
  private readonly shell: LineShell;
  private readonly py = new PymemtraceFolder();

  constructor(
    private readonly file: string,
    options: ReadProcessLogOptions,
  ) {
    this.shell = new LineShell({ source: file, format: 'process log', lenient: options.lenient });
  }

  line(text: string): void {
    this.shell.line(text, (line) => this.read(line), undefined);
  }

  private read(text: string): void {
    if (text.trim() === '') return;
    if (this.dialect === null) {
      if (CPYMEMTRACE_LOG.test(text)) {
        throw new ParseError({
          file: this.file,
          lineNumber: this.shell.lineNumber,
          format: 'process log',
          expected:
            'a memtrace or pymemtrace process log; this is a cPyMemTrace trace or profile log (per-call RSS): memtrace report reads it as --input-format cpymemtrace',
          line: text,
        });
      }
      this.dialect = detectProcessLog(text);
      if (this.dialect === null) {
        throw new ParseError({
          file: this.file,
          lineNumber: this.shell.lineNumber,
          format: 'process log',
          expected: 'a header record {"type":"header","tool":"process",…} or a pymemtrace log line',
          line: text,
        });
      }
      this.shell.options.format = `${this.dialect} process log`;
    }
    if (this.dialect === 'memtrace') this.builder.add(parseMemtraceRecord(text, this.builder.hasHeader));
    else this.py.line(text, this.builder);
  }

  end(): Series {
    if (this.dialect === null) {
      throw new ParseError({
        file: this.file,
        lineNumber: Math.max(1, this.shell.lineNumber),
        format: 'process log',
        expected: 'a header record; the file is empty',
      });
    }
    if (!this.builder.hasHeader) {
      throw (
        this.shell.firstMalformed ??
        new ParseError({
          file: this.file,
          lineNumber: this.shell.lineNumber,
          format: `${this.dialect} process log`,
          expected: 'a header record before the samples',
        })
      );
    }
    this.builder.badLines = this.shell.counts.malformed;
    if (this.dialect === 'pymemtrace') this.py.finish(this.builder);
    return this.builder.build();
  }
}

const NUMBER_FIELDS = ['rss', 'vsz', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers', 'totalRss', 'totalVsz'] as const;

function parseMemtraceRecord(text: string, hasHeader: boolean): ProcessLogRecord {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Malformed('one JSON object a line (is the line cut short? a sampler that was killed can leave half a line)');
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Malformed('a JSON object');
  const type = record.type;
  if (type === 'header') {
    if (hasHeader) throw new Malformed('one header record, at the top');
    const target = record.target as { pid?: unknown } | undefined;
    if (
      record.tool !== 'process' ||
      typeof record.interval !== 'number' ||
      typeof record.start !== 'string' ||
      !Number.isInteger(target?.pid)
    ) {
      throw new Malformed('a header with tool "process", target.pid, interval and start');
    }
    return record as unknown as ProcessLogRecord;
  }
  if (!hasHeader) throw new Malformed('a header record before the samples');
  if (typeof record.t !== 'string' || typeof record.elapsed !== 'number' || !Number.isFinite(record.elapsed)) {
    throw new Malformed(`a ${String(type)} record with "t" (ISO 8601) and "elapsed" (seconds)`);
  }
  switch (type) {
    case 'sample':
      if (!Number.isInteger(record.pid) || typeof record.rss !== 'number') throw new Malformed('a sample with "pid" and "rss" (bytes)');
      for (const name of NUMBER_FIELDS) {
        const value = record[name];
        if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0))
          throw new Malformed(`"${name}" as a number of bytes`);
      }
      return record as unknown as ProcessLogRecord;
    case 'mark':
      if (typeof record.text !== 'string') throw new Malformed('a mark with "text"');
      return record as unknown as ProcessLogRecord;
    case 'stop': {
      if (typeof record.reason !== 'string') throw new Malformed('a stop record with "reason"');
      // The counts of samples with and without heap figures, which the reports print.
      const heap = record.heap as Record<string, unknown> | undefined;
      const isCount = (value: unknown) => Number.isInteger(value) && (value as number) >= 0;
      if (
        heap !== undefined &&
        !(
          typeof heap === 'object' &&
          heap !== null &&
          isCount(heap.samples) &&
          isCount(heap.beforeFirst) &&
          isCount(heap.late) &&
          typeof heap.via === 'string' &&
          (heap.why === undefined || typeof heap.why === 'string')
        )
      ) {
        throw new Malformed('"heap" as {"samples", "beforeFirst", "late": counts, "via": text, "why"?: text}');
      }
      return record as unknown as ProcessLogRecord;
    }
    default:
      throw new Malformed('a record of type header, sample, mark or stop');
  }
}

interface PymemtraceRecord {
  timestamp: string;
  memory_info: { rss: number; vms?: number };
  elapsed_time: number;
  pid: number;
  label?: string;
}

/** Folds pymemtrace's records into memtrace's: header from the first, stop from -STOP. */
class PymemtraceFolder {
  private elapsedSteps: number[] = [];
  private lastElapsed: number | null = null;
  private header: { pid: number; start: string } | null = null;
  private pending: ProcessLogRecord[] = [];
  private stopped = false;

  line(text: string, builder: SeriesBuilder): void {
    const match = PYMEMTRACE_RECORD.exec(text);
    if (match === null) return; // other log lines of the program
    let record: PymemtraceRecord;
    try {
      record = JSON.parse(match[2]!) as PymemtraceRecord;
    } catch {
      throw new Malformed('a JSON object after ProcessLoggingThread-JSON');
    }
    if (
      typeof record.timestamp !== 'string' ||
      typeof record.elapsed_time !== 'number' ||
      typeof record.memory_info?.rss !== 'number' ||
      !Number.isInteger(record.pid)
    ) {
      throw new Malformed('"timestamp", "elapsed_time", "pid" and "memory_info.rss"');
    }
    const t = record.timestamp.replace(' ', 'T');
    if (this.header === null) {
      this.header = { pid: record.pid, start: shiftLocalTime(t, -record.elapsed_time) };
      builder.add({
        type: 'header',
        tool: 'process',
        version: 1,
        source: 'pymemtrace',
        target: { pid: record.pid },
        interval: 0,
        host: '',
        platform: '',
        start: this.header.start,
      });
    }
    if (this.lastElapsed !== null) this.elapsedSteps.push(record.elapsed_time - this.lastElapsed);
    this.lastElapsed = record.elapsed_time;
    const sample: SeriesSample = { t, elapsed: record.elapsed_time, pid: record.pid, rss: record.memory_info.rss };
    if (typeof record.memory_info.vms === 'number') sample.vsz = record.memory_info.vms;
    if (typeof record.label === 'string' && record.label !== '') {
      builder.add({ type: 'mark', t, elapsed: record.elapsed_time, text: record.label, source: 'log' });
    }
    builder.add({ type: 'sample', ...sample });
    if (match[1] === '-STOP') {
      this.stopped = true;
      this.pending.push({ type: 'stop', t, elapsed: record.elapsed_time, reason: 'stopped', samples: 0, missed: 0 });
    }
  }

  finish(builder: SeriesBuilder): void {
    const series = builder.build();
    // pymemtrace does not log its interval: the median step between samples stands for it.
    const steps = [...this.elapsedSteps].sort((a, b) => a - b);
    series.header.interval = steps.length === 0 ? 0 : Math.round(steps[Math.floor(steps.length / 2)]! * 1000) / 1000;
    if (this.stopped) {
      for (const record of this.pending) builder.add(record.type === 'stop' ? { ...record, samples: series.samples.length } : record);
    }
  }
}

/** Adds seconds to a local ISO time without a zone, keeping it without a zone. */
function shiftLocalTime(local: string, seconds: number): string {
  const ms = Date.parse(`${local.slice(0, 23)}Z`);
  if (Number.isNaN(ms)) return local;
  return new Date(ms + seconds * 1000).toISOString().slice(0, 23);
}
