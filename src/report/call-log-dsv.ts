// A call log as one row per event, every figure in bytes and seconds as logged: tab-separated for
// scripts, comma-separated for spreadsheets. Written with d3-dsv, which quotes what needs quoting
// (file names with tabs, commas or quotes).
import { csvFormat, tsvFormat } from 'd3-dsv';
import type { CallLog } from '../model/call-log.js';

const COLUMNS = ['number', 'role', 'clock', 'event', 'file', 'line', 'function', 'rss', 'drss'];

function rows(log: CallLog): Array<Record<string, string | number>> {
  return log.events.map((event) => ({
    number: event.number,
    role: event.role,
    clock: event.clock ?? '',
    event: event.event,
    file: event.file,
    line: event.line,
    function: event.function,
    rss: event.rss,
    drss: event.drss,
  }));
}

export function renderCallLogTsv(log: CallLog): string {
  return `${tsvFormat(rows(log), COLUMNS)}\n`;
}

export function renderCallLogCsv(log: CallLog): string {
  return `${csvFormat(rows(log), COLUMNS)}\n`;
}
