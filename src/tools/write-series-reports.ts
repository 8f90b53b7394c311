// Writes a process series in every report format asked for (files by extension, stdout by --format).
// TEMPORARY: the renderers arrive with src/report/series-index.ts.
import { UsageError } from '../errors.js';
import type { Series } from '../model/series.js';

export interface SeriesReportRequest {
  path: string | null;
  format: string;
}

export async function writeSeriesReports(series: Series, requests: SeriesReportRequest[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<void> {
  for (const request of requests) {
    const text = `${JSON.stringify(series)}\n`;
    if (request.path === null) io.stdout.write(text);
  }
}

/** Splits -o/-f into the live log (.jsonl, .ndjson, or -f jsonl) and the reports rendered at the end. */
export function seriesReportRequests(paths: string[], stdoutFormat: string | null): { log: string | null; reports: SeriesReportRequest[] } {
  let log: string | null = stdoutFormat === 'jsonl' ? '-' : null;
  const reports: SeriesReportRequest[] = [];
  for (const path of paths) {
    if (/\.(jsonl|ndjson)$/i.test(path)) {
      if (log !== null && log !== '-') throw new UsageError(`one live log at a time: ${log} and ${path}`);
      log = path;
    } else if (path === '-') reports.push({ path: null, format: stdoutFormat ?? 'table' });
    else reports.push({ path, format: 'table' });
  }
  if (stdoutFormat !== 'jsonl' && (reports.length === 0 && log === null || stdoutFormat !== null && !paths.includes('-'))) {
    reports.push({ path: null, format: stdoutFormat ?? 'table' });
  }
  return { log, reports };
}
