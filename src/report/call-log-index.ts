// Chooses the renderer of a call log: by the output file's extension, or by --format for stdout.
// The functions ranked by RSS growth are reduced here and handed to the reports that show them.
import { functionsOf, type CallLog } from '../model/call-log.js';
import { renderCallLogCsv, renderCallLogTsv } from './call-log-dsv.js';
import { renderCallLogJson } from './call-log-json.js';
import { renderCallLogSvg } from './call-log-svg.js';
import { renderCallLogTable } from './call-log-table.js';
import { extensionsOf, type ReportFamily } from './family.js';

/** The first is the default on stdout. */
export const CALL_LOG_FORMATS = ['table', 'json', 'tsv', 'csv', 'svg'] as const;
export type CallLogFormat = (typeof CALL_LOG_FORMATS)[number];

export const CALL_LOG_EXTENSIONS: Record<string, CallLogFormat> = extensionsOf(CALL_LOG_FORMATS);

export interface RenderCallLogOptions {
  /** Names the log in the table's first line and the plot's title. */
  title: string;
  /** Functions in the table (default 10). */
  top?: number;
}

export function renderCallLog(log: CallLog, format: CallLogFormat, options: RenderCallLogOptions): string {
  switch (format) {
    case 'table':
      return renderCallLogTable(log, functionsOf(log), options);
    case 'json':
      return renderCallLogJson(log, functionsOf(log));
    case 'tsv':
      return renderCallLogTsv(log);
    case 'csv':
      return renderCallLogCsv(log);
    case 'svg':
      return renderCallLogSvg(log, functionsOf(log), { title: options.title });
  }
}

export const CALL_LOG_REPORTS: ReportFamily<CallLog, CallLogFormat, RenderCallLogOptions> = {
  formats: CALL_LOG_FORMATS,
  extensions: CALL_LOG_EXTENSIONS,
  render: renderCallLog,
};
