// Chooses the renderer of a process series: by the output file's extension, or by --format.
import type { ProcessLogRecord, Series } from '../model/series.js';
import { extensionsOf, formatByExtension } from './family.js';
import { renderJson } from './json.js';
import { renderSeriesHtml } from './series-html.js';
import { renderSeriesSvg } from './series-svg.js';
import { renderSeriesTable } from './series-table.js';
import { seriesTable } from './series-dsv.js';
import { renderDsv } from './dsv.js';

/** gnuplot is two files (.dat and .plt) and is written by writeSeriesReports, not rendered here. */
export const SERIES_FORMATS = ['table', 'tsv', 'csv', 'svg', 'html', 'json', 'jsonl', 'gnuplot'] as const;
export type SeriesFormat = (typeof SERIES_FORMATS)[number];

export const SERIES_EXTENSIONS: Record<string, SeriesFormat> = extensionsOf(SERIES_FORMATS);

/** The format of an output path, or null when its extension is not one of SERIES_EXTENSIONS. */
export function seriesFormatFromPath(path: string): SeriesFormat | null {
  return formatByExtension(path, SERIES_EXTENSIONS) ?? null;
}

export function renderSeries(series: Series, format: Exclude<SeriesFormat, 'gnuplot'>): string {
  switch (format) {
    case 'table':
      return renderSeriesTable(series);
    case 'tsv':
    case 'csv':
      return renderDsv(seriesTable(series), format);
    case 'svg':
      return renderSeriesSvg(series);
    case 'html':
      return renderSeriesHtml(series);
    case 'json':
      return renderJson(series);
    case 'jsonl':
      return seriesRecords(series)
        .map((record) => `${JSON.stringify(record)}\n`)
        .join('');
  }
}

/** The series as the records of a memtrace process log (converts a pymemtrace log to memtrace's). */
export function seriesRecords(series: Series): ProcessLogRecord[] {
  const timeline: Array<{ elapsed: number; order: number; record: ProcessLogRecord }> = [
    ...series.samples.map((sample) => ({ elapsed: sample.elapsed, order: 1, record: { type: 'sample' as const, ...sample } })),
    ...series.marks.map((mark) => ({ elapsed: mark.elapsed, order: 0, record: { type: 'mark' as const, ...mark } })),
  ].sort((a, b) => a.elapsed - b.elapsed || a.order - b.order);
  return [
    { type: 'header', ...series.header },
    ...timeline.map((entry) => entry.record),
    ...(series.stop === null ? [] : [{ type: 'stop' as const, ...series.stop }]),
  ];
}
