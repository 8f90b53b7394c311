// Writes a GcLog in every format asked for: files by their extension, stdout by --format.
import type { GcLog } from '../../model/gc-log.js';
import { GC_EXTENSIONS, GC_FORMATS, renderGc, type GcFormat } from '../../report/gc-index.js';
import { reportRequestsFor, writeReport } from '../common/write-reports.js';

export interface GcReportRequest {
  /** null: standard output. */
  path: string | null;
  format: GcFormat;
}

export function gcReportRequests(paths: string[], stdoutFormat: string | null): GcReportRequest[] {
  return reportRequestsFor(paths, stdoutFormat, { extensions: GC_EXTENSIONS, formats: GC_FORMATS });
}

export async function writeGcReports(log: GcLog, requests: GcReportRequest[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<void> {
  for (const request of requests) await writeReport(renderGc(log, request.format), request.path, request.format, io);
}
