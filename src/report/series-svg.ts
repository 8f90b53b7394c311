// A process series as a self-contained SVG time plot: RSS (and the V8 heap lines, the process
// tree's total) against elapsed time, byte axes in binary units, marks as labelled dashed verticals.
// No script and no external resource: it renders the same in a browser, an image viewer or a doc.
import { decimationNote, markSampleIndexes, oneLine, summarizeSeries, type Series, type SeriesSample } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import { formatBytes, formatDuration } from './units.js';

export interface SeriesSvgOptions {
  width?: number;
  height?: number;
  /** Also draw the virtual size (off by default: it dwarfs RSS, often by 100×). */
  vsz?: boolean;
}

interface Line {
  name: string;
  color: string;
  dash?: string;
  value: (sample: SeriesSample) => number | undefined;
}

const LINES: Line[] = [
  { name: 'RSS', color: '#1f63b4', value: (sample) => sample.rss },
  { name: 'tree RSS', color: '#8e44ad', dash: '6 3', value: (sample) => sample.totalRss },
  { name: 'heap total', color: '#2f9e44', dash: '6 3', value: (sample) => sample.heapTotal },
  { name: 'heap used', color: '#2f9e44', value: (sample) => sample.heapUsed },
  { name: 'external', color: '#e8590c', value: (sample) => sample.external },
  { name: 'virtual size', color: '#868e96', dash: '2 3', value: (sample) => sample.vsz },
];

const MARGIN = { left: 84, right: 24, top: 68, bottom: 74 };

export function renderSeriesSvg(series: Series, options: SeriesSvgOptions = {}): string {
  const width = options.width ?? 1000;
  const height = options.height ?? 480;
  const plot = { x: MARGIN.left, y: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: height - MARGIN.top - MARGIN.bottom };
  const lines = LINES.filter((line) => (line.name !== 'virtual size' || options.vsz === true) && series.samples.some((sample) => typeof line.value(sample) === 'number'));
  const samples = series.samples;
  const summary = summarizeSeries(series);
  const t0 = samples[0]?.elapsed ?? 0;
  const t1 = Math.max(series.stop?.elapsed ?? 0, samples.at(-1)?.elapsed ?? 0, t0 + 1e-3);
  // A loop, not Math.max(...values): a long series has more values than a call has arguments.
  let maxValue = 1;
  for (const sample of samples) for (const line of lines) maxValue = Math.max(maxValue, line.value(sample) ?? 0);
  const yStep = niceByteStep(maxValue / 5);
  const yMax = Math.ceil((maxValue * 1.05) / yStep) * yStep;
  const xStep = niceSecondStep((t1 - t0) / 8);
  const x = (elapsed: number) => plot.x + ((elapsed - t0) / (t1 - t0)) * plot.width;
  const y = (value: number) => plot.y + plot.height - (value / yMax) * plot.height;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const command = series.header.target.command === undefined ? '' : `: ${series.header.target.command.join(' ')}`;
  out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(truncate(`Memory of PID ${series.header.target.pid}${command}`, 110))}</text>`);
  const subtitle = `${series.header.host ? `${series.header.host}, ` : ''}from ${series.header.start}; ${summary.samples} samples, peak RSS ${formatBytes(summary.peak?.rss ?? 0)}${series.decimation === undefined ? '' : `; ${decimationNote(series)}`}`;
  const trouble = series.stop === null || series.badLines > 0;
  out.push(`<text x="${width / 2}" y="42" text-anchor="middle" fill="#555555">${escapeXml(truncate(`${subtitle}${trouble ? '' : `; ${summary.ending}`}`, 150))}</text>`);
  if (trouble) {
    const warning = `${summary.ending}${series.badLines > 0 ? `; ${series.badLines} unreadable lines skipped` : ''}`;
    out.push(`<text x="${width / 2}" y="57" text-anchor="middle" fill="#c92a2a">${escapeXml(truncate(warning, 150))}</text>`);
  }

  // Axes and grid.
  for (let value = 0; value <= yMax + yStep / 2; value += yStep) {
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.width}" y1="${round(y(value))}" y2="${round(y(value))}" stroke="#e9ecef"/>`);
    out.push(`<text x="${plot.x - 6}" y="${round(y(value)) + 4}" text-anchor="end" fill="#333333">${escapeXml(formatBytes(value))}</text>`);
  }
  for (let tick = Math.ceil(t0 / xStep) * xStep; tick <= t1 + 1e-9; tick += xStep) {
    out.push(`<line x1="${round(x(tick))}" x2="${round(x(tick))}" y1="${plot.y}" y2="${plot.y + plot.height}" stroke="#f1f3f5"/>`);
    out.push(`<text x="${round(x(tick))}" y="${plot.y + plot.height + 18}" text-anchor="middle" fill="#333333">${escapeXml(formatDuration(tick))}</text>`);
  }
  out.push(`<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#adb5bd"/>`);
  out.push(`<text x="${plot.x + plot.width / 2}" y="${plot.y + plot.height + 38}" text-anchor="middle" fill="#333333">elapsed time</text>`);

  // Marks under the lines, labels on top of everything.
  const markIndexes = markSampleIndexes(series);
  series.marks.forEach((mark, index) => {
    const mx = round(x(mark.elapsed));
    out.push(`<line class="mark" x1="${mx}" x2="${mx}" y1="${plot.y}" y2="${plot.y + plot.height}" stroke="#495057" stroke-dasharray="4 3"/>`);
    const at = samples[markIndexes[index]!];
    if (at !== undefined) out.push(`<circle cx="${mx}" cy="${round(y(at.rss))}" r="3" fill="#495057"/>`);
  });

  for (const line of lines) {
    const points = thinToPixelColumns(samples.filter((sample) => typeof line.value(sample) === 'number').map((sample) => [x(sample.elapsed), y(line.value(sample)!)] as const))
      .map(([px, py]) => `${round(px)},${round(py)}`)
      .join(' ');
    out.push(`<polyline class="series" data-name="${line.name}" points="${points}" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}><title>${escapeXml(line.name)}</title></polyline>`);
  }

  // Labels of marks close together are pushed right, one text height apart, so none covers another.
  let lastLabelX = -Infinity;
  series.marks.forEach((mark, index) => {
    const mx = Math.max(round(x(mark.elapsed)), lastLabelX + 13);
    lastLabelX = mx;
    const at = samples[markIndexes[index]!];
    const text = truncate(oneLine(mark.text), 48);
    const tip = `${formatDuration(mark.elapsed)}: ${oneLine(mark.text)}${at === undefined ? '' : ` (RSS ${formatBytes(at.rss)})`}`;
    out.push(`<g class="mark-label"><title>${escapeXml(tip)}</title><text transform="translate(${mx + 4},${plot.y + 6}) rotate(90)" font-size="11" fill="#212529" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(text)}</text></g>`);
  });

  // Legend, below the axis title.
  let legendX = plot.x;
  const legendY = height - 14;
  for (const line of lines) {
    out.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.color}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}/>`);
    out.push(`<text x="${legendX + 30}" y="${legendY}">${escapeXml(line.name)}</text>`);
    legendX += 48 + line.name.length * 7.5;
  }
  if (series.marks.length > 0) {
    out.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#495057" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${legendX + 30}" y="${legendY}">mark</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** A step of 1, 2 or 5 × a power of ten, in the binary unit that fits (4 MiB, 200 MiB, 1 GiB). */
export function niceByteStep(raw: number): number {
  if (!(raw > 0)) return 1;
  let unit = 1;
  while (raw >= unit * 1024) unit *= 1024;
  const mantissa = raw / unit;
  const magnitude = 10 ** Math.floor(Math.log10(mantissa));
  const nice = [1, 2, 5, 10].find((step) => step * magnitude >= mantissa)! * magnitude;
  return Math.max(1, nice) * unit;
}

/** A step of seconds that reads well: 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1 h… */
export function niceSecondStep(raw: number): number {
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  return steps.find((step) => step >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

/**
 * Of the points that fall in one pixel column, only the first, the highest, the lowest and the last
 * change what is drawn: a line of 200,000 samples becomes at most four points a column, and every
 * peak and trough stays visible.
 */
export function thinToPixelColumns(points: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  let start = 0;
  while (start < points.length) {
    const column = Math.floor(points[start]![0]);
    let end = start;
    let high = start;
    let low = start;
    while (end + 1 < points.length && Math.floor(points[end + 1]![0]) === column) {
      end += 1;
      if (points[end]![1] < points[high]![1]) high = end;
      if (points[end]![1] > points[low]![1]) low = end;
    }
    for (const index of [...new Set([start, high, low, end])].sort((a, b) => a - b)) out.push(points[index]!);
    start = end + 1;
  }
  return out;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
