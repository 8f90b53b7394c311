// The terminal report of a call log, in 80 columns: a header (what the log is, how many events, RSS
// at its start, peak and end, and anything that went wrong reading it), the events with RSS and
// ΔRSS, the messages the program wrote into the log, then the functions ranked by RSS growth. A
// long log shows the events that matter — the first, the last, the peak, and the largest moves —
// and says how many it left out.
import {
  callLogDecimationNote,
  isBaseline,
  summarizeCallLog,
  type CallEvent,
  type CallLog,
  type FunctionGrowth,
} from '../model/call-log.js';
import { oneLine } from '../model/series.js';
import { formatBytes, formatCount } from './units.js';
import { truncate, wrap } from './text.js';

export interface CallLogTableOptions {
  /** First line, naming the log (the reader knows its file; the renderer does not). */
  title: string;
  /** Functions shown (default 10). */
  top?: number;
}

/** Logs of at most this many events are shown whole; longer ones show this many. */
const SHOW_EVENTS = 50;
const SHOW_MESSAGES = 10;
const WIDTH = 80;

export function renderCallLogTable(log: CallLog, functions: FunctionGrowth[], options: CallLogTableOptions): string {
  const summary = summarizeCallLog(log);
  const lines: string[] = [oneLine(options.title)];
  lines.push(...headerLines(log));
  const decimated = callLogDecimationNote(log);
  if (decimated !== null) lines.push(...wrap(decimated, WIDTH));
  if (summary.first === null) {
    lines.push('No events.');
    return `${lines.join('\n')}\n`;
  }
  const range =
    summary.first === summary.last ? `number ${summary.first.number}` : `numbers ${summary.first.number} to ${summary.last!.number}`;
  const clock =
    summary.first.clock !== null && summary.last!.clock !== null
      ? `, clock ${summary.first.clock.toFixed(6)} s to ${summary.last!.clock.toFixed(6)} s${log.header.clock === 'cpu' ? ' (CPU time)' : ''}`
      : '';
  lines.push(`${formatCount(summary.events)} events (${range})${clock}`);
  lines.push(
    `RSS: first ${formatBytes(summary.first.rss)}, last ${formatBytes(summary.last!.rss)} (${signedBytes(summary.last!.rss - summary.first.rss)})`,
  );
  lines.push(
    truncate(
      `Peak RSS: ${formatBytes(summary.peak!.rss)} at event ${summary.peak!.number}${summary.peak!.function ? ` (${oneLine(summary.peak!.function)})` : ''}`,
      WIDTH,
    ),
  );
  lines.push(truncate(`Kinds: ${summary.kinds.map((kind) => `${kind.event} ${formatCount(kind.count)}`).join(', ')}`, WIDTH));
  lines.push('');
  lines.push(...eventLines(log, summary.peak!));
  lines.push('');
  if (log.messages.length > 0) lines.push(...messageLines(log), '');
  lines.push(...functionLines(functions, options.top ?? 10));
  return `${lines.join('\n')}\n`;
}

function headerLines(log: CallLog): string[] {
  const lines: string[] = [];
  const { header } = log;
  const about = [
    header.target === null ? null : `PID ${header.target.pid}`,
    header.start === null ? null : `from ${header.start}`,
    header.host === null ? null : `on ${header.host}`,
    header.message === null ? null : `message: ${oneLine(header.message)}`,
  ].filter((part) => part !== null);
  if (about.length > 0) lines.push(truncate(about.join(', '), WIDTH));
  if (header.trigger !== null) lines.push(`Events logged when RSS moved by at least ${formatBytes(header.trigger)}`);
  if (header.lostEvents !== null && header.lostEvents > 0)
    lines.push(`${formatCount(header.lostEvents)} events lost by the tracer: the figures below miss them`);
  if (log.repeatedContext > 0)
    lines.push(`${formatCount(log.repeatedContext)} PREV lines repeated the event logged before them (each kept once)`);
  if (log.partial) lines.push(...wrap(`PARTIAL: ${log.partialReason ?? 'the log is cut'}`, WIDTH));
  if (log.badLines > 0) lines.push(`${formatCount(log.badLines)} unreadable lines were skipped (--lenient)`);
  if ((log.lines?.foreign ?? 0) > 0) lines.push(`${formatCount(log.lines!.foreign)} foreign lines were read past (not the log's own)`);
  if (log.tracer !== undefined) {
    const { seenEvents, lineEvents, notes } = log.tracer;
    if (seenEvents !== null)
      lines.push(
        `${formatCount(seenEvents)} events seen by the probes, ${formatCount(log.events.length)} logged${lineEvents === null ? '' : `; ${formatCount(lineEvents)} line events counted`}`,
      );
    for (const note of notes) lines.push(...wrap(`Note: ${note}`, WIDTH));
  }
  return lines;
}

function eventLines(log: CallLog, peak: CallEvent): string[] {
  const rows = chooseEvents(log.events, peak).map((index) => log.events[index]!);
  const withClock = log.events.some((event) => event.clock !== null);
  const head = ['Event', ...(withClock ? ['Clock s'] : []), 'What', 'RSS', 'ΔRSS'];
  const cells = rows.map((event) => [
    String(event.number),
    ...(withClock ? [event.clock === null ? '' : event.clock.toFixed(6)] : []),
    event.event,
    formatBytes(event.rss),
    isBaseline(event) ? 'from 0' : signedBytes(event.drss),
  ]);
  const widths = head.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const whatColumn = withClock ? 2 : 1;
  const fixed = (row: string[]) =>
    row.map((cell, column) => (column === whatColumn ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  const room = Math.max(16, WIDTH - fixed(head).length - 2);
  const lines = ['Events', `${fixed(head)}  Function (file:line)`];
  rows.forEach((event, index) => lines.push(`${fixed(cells[index]!)}  ${where(event, event === peak ? ' (peak)' : '', room)}`.trimEnd()));
  if (rows.length < log.events.length) {
    lines.push(
      `(${formatCount(log.events.length - rows.length)} of ${formatCount(log.events.length)} events not shown, the smallest moves: see json/tsv/csv)`,
    );
  }
  return lines;
}

function messageLines(log: CallLog): string[] {
  const shown = log.messages.slice(0, SHOW_MESSAGES);
  const lines = ['Messages the program wrote into the log'];
  for (const message of shown) lines.push(truncate(`  at event ${message.number}: ${oneLine(message.text)}`, WIDTH));
  if (log.messages.length > shown.length) lines.push(`(${formatCount(log.messages.length - shown.length)} more messages: see json)`);
  return lines;
}

function functionLines(functions: FunctionGrowth[], top: number): string[] {
  const shown = functions.slice(0, top);
  const head = ['Growth', 'Shrink', 'Events', 'Function'];
  const cells = shown.map((entry) => [
    formatBytes(entry.growth),
    formatBytes(entry.shrink),
    formatCount(entry.events),
    oneLine(entry.function) || '(none)',
    oneLine(entry.file) || '(no file)',
  ]);
  const widths = head.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const format = (row: string[]) => {
    const fixed = row.slice(0, 3).map((cell, column) => cell.padStart(widths[column]!));
    const name = row[3]!.padEnd(widths[3]!);
    const prefix = `${fixed.join('  ')}  ${name}`;
    return row[4] === undefined ? prefix : `${prefix}  ${truncateLeft(row[4], Math.max(12, WIDTH - prefix.length - 2))}`;
  };
  const lines = ['Functions by RSS growth (sum of the positive ΔRSS of their events)', format([...head, 'File'])];
  for (const row of cells) lines.push(format(row).trimEnd());
  if (functions.length > shown.length) lines.push(`(${formatCount(functions.length - shown.length)} more functions; --top N shows more)`);
  return lines;
}

/** All events of a short log; of a long one, the first, the last, the peak and the largest moves, in log order. */
function chooseEvents(events: CallEvent[], peak: CallEvent): number[] {
  if (events.length <= SHOW_EVENTS) return events.map((_, index) => index);
  const chosen = new Set<number>([0, events.length - 1, events.indexOf(peak)]);
  const bySize = events
    .map((event, index) => ({ size: isBaseline(event) ? 0 : Math.abs(event.drss), index }))
    .sort((a, b) => b.size - a.size || a.index - b.index);
  for (const { index } of bySize) {
    if (chosen.size >= SHOW_EVENTS) break;
    chosen.add(index);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** "function (file:line)" in `room` characters: the file's start gives way first, then the function's end. */
function where(event: CallEvent, suffix: string, room: number): string {
  const name = oneLine(event.function);
  const file = event.file === '' ? '' : `${oneLine(basename(event.file))}:${event.line}`;
  if (name === '' && file === '') return `(no frame)${suffix}`;
  if (file === '') return `${truncate(name, room - suffix.length)}${suffix}`;
  const shortName = truncate(name, Math.max(8, room - suffix.length - 3 - Math.min(file.length, 12)));
  return `${shortName} (${truncateLeft(file, Math.max(4, room - suffix.length - shortName.length - 3))})${suffix}`;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function signedBytes(bytes: number): string {
  return bytes >= 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

/** Keeps the end, which names the file, of a long path or name. */
function truncateLeft(text: string, length: number): string {
  return text.length <= length ? text : `…${text.slice(text.length - length + 1)}`;
}
