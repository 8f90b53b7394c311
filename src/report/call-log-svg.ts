// A call log as a self-contained SVG time plot: RSS at each logged event against the tracer's
// clock (cPyMemTrace's is the process's CPU time), or against the event number when the log has
// no clock. Each event is a dot whose tooltip names it (number, kind, function, file:line, RSS,
// ΔRSS): red where RSS grew, green where it shrank. No script, no external resource.
import {
  callLogDecimationNote,
  isBaseline,
  summarizeCallLog,
  type CallEvent,
  type CallLog,
  type FunctionGrowth,
} from '../model/call-log.js';
import { oneLine } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import {
  niceCountStep,
  niceSecondStep,
  openSvg,
  plotAxes,
  plotLegend,
  plotPolyline,
  plotScale,
  plotTitles,
  round,
} from './time-plot-svg.js';
import { formatBytes, formatDuration } from './units.js';

export interface CallLogSvgOptions {
  /** Names the log in the title. */
  title: string;
  width?: number;
  height?: number;
}

/** Above this many events the dots are left out: the line alone reads better, and the file stays small. */
const MAX_DOTS = 2000;
const RSS_LINE = { name: 'RSS', color: '#1f63b4' };

export function renderCallLogSvg(log: CallLog, functions: FunctionGrowth[], options: CallLogSvgOptions): string {
  const width = options.width ?? 1000;
  const height = options.height ?? 480;
  const { events } = log;
  const summary = summarizeCallLog(log);
  const byClock = events.length > 0 && events.every((event) => event.clock !== null) && events.at(-1)!.clock! > events[0]!.clock!;
  const at = (event: CallEvent) => (byClock ? event.clock! : event.number);
  const x0 = events.length === 0 ? 0 : at(events[0]!);
  const x1 = Math.max(events.length === 0 ? 0 : at(events.at(-1)!), x0 + (byClock ? 1e-3 : 1));
  const scale = plotScale(
    width,
    height,
    x0,
    x1,
    events.reduce((highest, event) => Math.max(highest, event.rss), 1),
    byClock ? niceSecondStep : niceCountStep,
  );
  const { x, y } = scale;

  const out = openSvg(width, height);
  const top = functions[0];
  const subtitle = [
    `${summary.events} events`,
    summary.peak === null
      ? null
      : `peak RSS ${formatBytes(summary.peak.rss)} at event ${summary.peak.number}${summary.peak.function ? ` (${oneLine(summary.peak.function)})` : ''}`,
    top === undefined || top.growth === 0 ? null : `most growth: ${oneLine(top.function) || '(none)'} +${formatBytes(top.growth)}`,
  ].filter((part) => part !== null);
  const trouble = [
    log.partial ? `PARTIAL: ${log.partialReason ?? 'the log is cut'}` : null,
    log.badLines > 0 ? `${log.badLines} unreadable lines skipped` : null,
    (log.lines?.foreign ?? 0) > 0 ? `${log.lines!.foreign} foreign lines read past` : null,
    callLogDecimationNote(log),
  ].filter((part) => part !== null);
  out.push(
    ...plotTitles(
      width,
      `RSS at each event: ${oneLine(options.title)}`,
      subtitle.join('; '),
      trouble.length === 0 ? null : trouble.join('; '),
    ),
  );
  const xTitle = byClock ? (log.header.clock === 'cpu' ? 'process CPU time (the tracer’s clock)' : 'elapsed time') : 'event number';
  out.push(...plotAxes(scale, byClock ? formatDuration : String, xTitle));
  // The program's messages: dashed verticals under the line, each with its text as tooltip.
  for (const message of log.messages) {
    const position = byClock ? message.clock : message.number;
    if (position === null || position < x0 || position > x1) continue;
    const mx = round(x(position));
    out.push(
      `<line class="message" x1="${mx}" x2="${mx}" y1="${scale.area.y}" y2="${scale.area.y + scale.area.height}" stroke="#495057" stroke-dasharray="4 3"><title>${escapeXml(`at event ${message.number}: ${oneLine(message.text)}`)}</title></line>`,
    );
  }
  out.push(
    plotPolyline(
      RSS_LINE,
      events.map((event): [number, number] => [x(at(event)), y(event.rss)]),
    ),
  );
  if (events.length <= MAX_DOTS) {
    for (const event of events) {
      const grew = !isBaseline(event) && event.drss > 0;
      const shrank = event.drss < 0;
      const color = grew ? '#c92a2a' : shrank ? '#2f9e44' : '#868e96';
      const where = `${oneLine(event.function) || '(no function)'}${event.file === '' ? '' : ` ${oneLine(event.file)}:${event.line}`}`;
      const change = isBaseline(event) ? 'first reading' : `ΔRSS ${event.drss >= 0 ? '+' : ''}${formatBytes(event.drss)}`;
      const tip = `event ${event.number} ${event.event} ${where}: RSS ${formatBytes(event.rss)}, ${change}`;
      out.push(
        `<circle class="event" cx="${round(x(at(event)))}" cy="${round(y(event.rss))}" r="3" fill="${color}"><title>${escapeXml(tip)}</title></circle>`,
      );
    }
  }
  out.push(
    ...plotLegend(
      height,
      scale.area.x,
      [RSS_LINE],
      [
        ...(events.length <= MAX_DOTS
          ? [
              { name: 'RSS grew', color: '#c92a2a' },
              { name: 'RSS shrank', color: '#2f9e44' },
            ]
          : []),
        ...(log.messages.length > 0 ? [{ name: 'message', color: '#495057', dash: '4 3' }] : []),
      ],
    ),
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
