// Reads a `memtrace process` log in tests, record by record, without the parser under test.
import { readFileSync } from 'node:fs';
import type { ProcessLogRecord, SeriesHeader, SeriesMark, SeriesSample, SeriesStop } from '../../src/model/series.js';

export interface LogRecords {
  header: SeriesHeader & { type: 'header' };
  samples: Array<SeriesSample & { type: 'sample' }>;
  marks: Array<SeriesMark & { type: 'mark' }>;
  stop: (SeriesStop & { type: 'stop' }) | undefined;
  records: ProcessLogRecord[];
}

export function readLogRecords(path: string): LogRecords {
  const records = readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as ProcessLogRecord);
  return {
    header: records[0] as LogRecords['header'],
    samples: records.filter((record) => record.type === 'sample') as LogRecords['samples'],
    marks: records.filter((record) => record.type === 'mark') as LogRecords['marks'],
    stop: records.find((record) => record.type === 'stop') as LogRecords['stop'],
    records,
  };
}

/** The sample nearest to `elapsed` seconds. */
export function sampleNear(samples: SeriesSample[], elapsed: number): SeriesSample {
  return samples.reduce((best, sample) => (Math.abs(sample.elapsed - elapsed) < Math.abs(best.elapsed - elapsed) ? sample : best));
}

/** The samples with heap figures, their share of all samples, and heapUsed's least-squares slope in bytes a second. */
export function heapFigures(samples: SeriesSample[]) {
  const withHeap = samples.filter((sample) => typeof sample.heapUsed === 'number');
  const n = withHeap.length;
  const meanT = withHeap.reduce((sum, sample) => sum + sample.elapsed, 0) / n;
  const meanH = withHeap.reduce((sum, sample) => sum + sample.heapUsed!, 0) / n;
  const covariance = withHeap.reduce((sum, sample) => sum + (sample.elapsed - meanT) * (sample.heapUsed! - meanH), 0);
  const variance = withHeap.reduce((sum, sample) => sum + (sample.elapsed - meanT) ** 2, 0);
  return { withHeap, share: n / samples.length, slope: covariance / variance };
}
