// Writes a process log, one JSON line per record, each written through before the next sample:
// an interrupted or killed sampler leaves a log that is complete up to its last sample.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ProcessLogRecord } from '../model/series.js';

export interface LogSink {
  write(record: ProcessLogRecord): void;
  close(): void;
}

/** A log file (created or truncated), written synchronously line by line. */
export function fileLogSink(path: string): LogSink {
  let fd: number | null = openSync(path, 'w');
  return {
    write(record) {
      if (fd !== null) writeSync(fd, `${JSON.stringify(record)}\n`);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** A log on a stream (stdout). */
export function streamLogSink(stream: NodeJS.WritableStream): LogSink {
  return {
    write(record) {
      stream.write(`${JSON.stringify(record)}\n`);
    },
    close() {},
  };
}
