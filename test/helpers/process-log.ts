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
  const records = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as ProcessLogRecord);
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
