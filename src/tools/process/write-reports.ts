// Writes a process series in every format asked for: files by their extension, stdout by --format.
// gnuplot is a pair of files (STEM.dat and STEM.plt, which draws STEM-gnuplot.svg), as pymemtrace's.
import { UsageError } from '../../errors.js';
import { decimationNote, type Series } from '../../model/series.js';
import { renderSeriesGnuplot } from '../../report/series-gnuplot.js';
import { writeOutputFile } from '../common/output-file.js';
import { reportRequestsFor, writeReport, type ReportRequestOf } from '../common/write-reports.js';
import { renderSeries, SERIES_EXTENSIONS, SERIES_FORMATS, type SeriesFormat } from '../../report/series-index.js';

export type SeriesReportRequest = ReportRequestOf<SeriesFormat>;

/**
 * Splits -o/-f into reports. With `liveLog` (memtrace process), a .jsonl/.ndjson output (or
 * -f jsonl on stdout) is the log written as samples are taken, returned apart; otherwise it is a
 * report like the others.
 */
export function seriesReportRequests(
  paths: string[],
  stdoutFormat: string | null,
  options: { liveLog: boolean },
): { log: string | null; reports: SeriesReportRequest[] } {
  if (stdoutFormat === 'gnuplot') throw new UsageError('--format gnuplot: gnuplot is two files; write them with -o FILE.plt');
  const requests = reportRequestsFor<SeriesFormat>(paths, stdoutFormat, {
    extensions: SERIES_EXTENSIONS,
    formats: SERIES_FORMATS.filter((format) => format !== 'gnuplot'),
  });
  if (!options.liveLog) return { log: null, reports: requests };
  const logs = requests.filter((request) => request.format === 'jsonl');
  if (logs.length > 1) throw new UsageError(`one live log at a time: ${logs.map((log) => log.path ?? '-').join(' and ')}`);
  return { log: logs.length === 0 ? null : (logs[0]!.path ?? '-'), reports: requests.filter((request) => request.format !== 'jsonl') };
}

export async function writeSeriesReports(
  series: Series,
  requests: SeriesReportRequest[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<void> {
  // The table and the svg say so themselves; the data formats (tsv, json, jsonl, gnuplot) cannot.
  const decimated = decimationNote(series);
  if (decimated !== null && requests.some((request) => request.format !== 'table' && request.format !== 'svg'))
    io.stderr.write(`memtrace: ${decimated}\n`);
  for (const request of requests) {
    if (request.format === 'gnuplot') {
      const stem = request.path!.replace(/\.(plt|dat)$/i, '');
      const files = renderSeriesGnuplot(series, `${stem}.dat`, `${stem}-gnuplot.svg`);
      await writeOutputFile(`${stem}.dat`, files.dat);
      await writeOutputFile(`${stem}.plt`, files.plt);
      io.stderr.write(`memtrace: wrote ${stem}.dat and ${stem}.plt (gnuplot ${stem}.plt draws ${stem}-gnuplot.svg)\n`);
      continue;
    }
    await writeReport(renderSeries(series, request.format), request.path, request.format, io);
  }
}
