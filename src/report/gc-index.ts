// Chooses the renderer of a GcLog: by the output file's extension, or by --format for stdout.
import { gcLogToSeries, type GcLog } from '../model/gc-log.js';
import { renderGcSvg } from './gc-svg.js';
import { renderGcTable } from './gc-table.js';
import { renderGcTsv } from './gc-tsv.js';
import { renderJson } from './json.js';
import { extensionsOf, type ReportFamily } from './family.js';
import { seriesRecords } from './series-index.js';

/** `series` is the collections as a memtrace process log (JSON lines), for the process plots. */
export const GC_FORMATS = ['table', 'json', 'tsv', 'csv', 'svg', 'series'] as const;
export type GcFormat = (typeof GC_FORMATS)[number];

export const GC_EXTENSIONS: Record<string, GcFormat> = extensionsOf(GC_FORMATS, { series: 'jsonl' });

export function renderGc(log: GcLog, format: GcFormat): string {
  switch (format) {
    case 'table':
      return renderGcTable(log);
    case 'json':
      return renderJson(log);
    case 'tsv':
      return renderGcTsv(log, 'tab');
    case 'csv':
      return renderGcTsv(log, 'comma');
    case 'svg':
      return renderGcSvg(log);
    case 'series':
      return seriesRecords(gcLogToSeries(log))
        .map((record) => `${JSON.stringify(record)}\n`)
        .join('');
  }
}

export const GC_REPORTS: ReportFamily<GcLog, GcFormat, Record<string, never>> = {
  formats: GC_FORMATS,
  extensions: GC_EXTENSIONS,
  render: (log, format) => renderGc(log, format),
};
