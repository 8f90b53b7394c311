// Writes a process log, one JSON line per record, each written through before the next sample:
// an interrupted or killed sampler leaves a log that is complete up to its last sample.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { ProcessLogRecord } from '../model/series.js';

export interface LogSink {
  write(record: ProcessLogRecord): void;
  close(): void;
}

/** A log file (created or truncated), written synchronously line by line. */
export function fileLogSink(path: string): LogSink {
  return descriptorLogSink(openSync(path, 'w'));
}

/**
 * A log on a descriptor already open for writing (memtrace opens its own through
 * tools/common/output-file.ts); closed with the sink. A failed write (disk full) is handed to `onFailure`
 * and ends the writing, not the sampling: the file is cut back to its last whole line, so the log
 * keeps every sample written until then and still reads as a log.
 */
export function descriptorLogSink(descriptor: number, onFailure?: (error: unknown) => void): LogSink {
  let fd: number | null = descriptor;
  let failed = false;
  let length = 0;
  return {
    write(record) {
      if (fd === null || failed) return;
      const line = Buffer.from(`${JSON.stringify(record)}\n`);
      if (onFailure === undefined) {
        writeSync(fd, line);
        return;
      }
      try {
        // A full disk may take part of a line before it refuses the rest.
        for (let done = 0; done < line.length;) done += writeSync(fd, line, done);
        length += line.length;
      } catch (error) {
        failed = true;
        try {
          ftruncateSync(fd, length);
        } catch {
          // the cut is a courtesy; the failure is reported either way
        }
        onFailure(error);
      }
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
