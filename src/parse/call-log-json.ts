// Reads a call log's json report (src/report/call-log-json.ts) back into the CallLog model, so that
// `memtrace report calls.json` renders a saved `memtrace calls -o calls.json` again. A report is one
// JSON document written by memtrace, bounded by the events it logged, so it is parsed whole (as the
// malloc json report is).
import { ParseError } from '../errors.js';
import { readJsonReport } from './json-report.js';
import type { CallEvent, CallLog } from '../model/call-log.js';

const FORMAT = 'memtrace call-log json report';

/** A json report (a "{" alone on the first line) whose header says it is a call log. */
export function looksLikeCallLogJson(firstLine: string, headText: string): boolean {
  return firstLine.trim() === '{' && /^\{\s*"header": \{\s*"tool": "calls"/.test(headText);
}

export async function readCallLogJson(path: string): Promise<CallLog> {
  const value = await readJsonReport(path, FORMAT);
  const report = value as Partial<CallLog> | null;
  if (report?.header?.tool !== 'calls' || !Array.isArray(report.events) || !Array.isArray(report.messages)) {
    throw new ParseError({
      file: path,
      lineNumber: 1,
      format: FORMAT,
      expected: 'a report with a "tool": "calls" header, events and messages',
    });
  }
  report.events.forEach((event: Partial<CallEvent>, index) => {
    const fine =
      typeof event?.event === 'string' &&
      typeof event.file === 'string' &&
      typeof event.function === 'string' &&
      typeof event.line === 'number' &&
      typeof event.rss === 'number' &&
      typeof event.drss === 'number' &&
      typeof event.number === 'number';
    if (!fine)
      throw new ParseError({
        file: path,
        lineNumber: 1,
        format: FORMAT,
        expected: `events[${index}] with event, file, line, function, rss, drss and number`,
      });
  });
  const log: CallLog = {
    header: report.header,
    events: report.events,
    messages: report.messages,
    partial: report.partial === true,
    partialReason: report.partialReason ?? null,
    repeatedContext: report.repeatedContext ?? 0,
    badLines: report.badLines ?? 0,
  };
  if (report.tracer !== undefined) log.tracer = report.tracer;
  const lines = (report as { lines?: { malformed?: unknown; foreign?: unknown } }).lines;
  if (lines !== undefined && Number.isInteger(lines.malformed) && Number.isInteger(lines.foreign))
    log.lines = { malformed: lines.malformed as number, foreign: lines.foreign as number };
  // A report of a decimated log keeps the exact counts it was written with.
  if (report.decimation !== undefined && report.summary !== undefined && Array.isArray((report as { functions?: unknown }).functions)) {
    log.decimation = report.decimation;
    log.summary = report.summary;
    log.functions = (report as { functions: CallLog['functions'] }).functions;
  }
  return log;
}
