// Writes a process series in every format asked for: files by their extension, stdout by --format.
// gnuplot is a pair of files (STEM.dat and STEM.plt, which draws STEM-gnuplot.svg), as pymemtrace's.
import { writeFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Series } from '../model/series.js';
import { renderSeriesGnuplot } from '../report/series-gnuplot.js';
import { writeReport } from './write-reports.js';
import { renderSeries, SERIES_EXTENSIONS, SERIES_FORMATS, seriesFormatFromPath, type SeriesFormat } from '../report/series-index.js';

export interface SeriesReportRequest {
  /** null: standard output. */
  path: string | null;
  format: SeriesFormat;
}

/**
 * Splits -o/-f into reports. With `liveLog` (memtrace process), a .jsonl/.ndjson output (or
 * -f jsonl) is the log written as samples are taken, returned apart; otherwise it is a report.
 */
export function seriesReportRequests(paths: string[], stdoutFormat: string | null, options: { liveLog: boolean }): { log: string | null; reports: SeriesReportRequest[] } {
  if (stdoutFormat !== null && !SERIES_FORMATS.includes(stdoutFormat as SeriesFormat)) {
    throw new UsageError(`--format: expected one of ${SERIES_FORMATS.filter((format) => format !== 'gnuplot').join(', ')}, got "${stdoutFormat}"`);
  }
  const format = stdoutFormat as SeriesFormat | null;
  if (format === 'gnuplot') throw new UsageError('--format gnuplot: gnuplot is two files; write them with -o FILE.plt');
  let log: string | null = options.liveLog && format === 'jsonl' ? '-' : null;
  const reports: SeriesReportRequest[] = [];
  for (const path of paths) {
    if (path === '-') {
      reports.push({ path: null, format: format ?? 'table' });
      continue;
    }
    const fileFormat = seriesFormatFromPath(path);
    if (fileFormat === null) {
      throw new UsageError(`${path}: cannot tell the report format from the extension; use one of ${Object.keys(SERIES_EXTENSIONS).join(' ')}`);
    }
    if (options.liveLog && fileFormat === 'jsonl') {
      if (log !== null && log !== '-') throw new UsageError(`one live log at a time: ${log} and ${path}`);
      log = path;
    } else {
      reports.push({ path, format: fileFormat });
    }
  }
  const stdoutTaken = log === '-' || reports.some((report) => report.path === null);
  if (!stdoutTaken && (format !== null || (reports.length === 0 && log === null))) reports.push({ path: null, format: format ?? 'table' });
  return { log, reports };
}

export async function writeSeriesReports(series: Series, requests: SeriesReportRequest[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<void> {
  for (const request of requests) {
    if (request.format === 'gnuplot') {
      const stem = request.path!.replace(/\.(plt|dat)$/i, '');
      const files = renderSeriesGnuplot(series, `${stem}.dat`, `${stem}-gnuplot.svg`);
      await writeFile(`${stem}.dat`, files.dat);
      await writeFile(`${stem}.plt`, files.plt);
      io.stderr.write(`memtrace: wrote ${stem}.dat and ${stem}.plt (gnuplot ${stem}.plt draws ${stem}-gnuplot.svg)\n`);
      continue;
    }
    await writeReport(renderSeries(series, request.format), request.path, request.format, io);
  }
}
