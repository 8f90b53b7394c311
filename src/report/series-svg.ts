// A process series as a self-contained SVG time plot: RSS (and the V8 heap lines, the process
// tree's total) against elapsed time, byte axes in binary units, marks as labelled dashed verticals.
// No script and no external resource: it renders the same in a browser, an image viewer or a doc.
import { decimationNote, markSampleIndexes, oneLine, summarizeSeries, type Series, type SeriesSample } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import { niceSecondStep, openSvg, plotAxes, plotLegend, plotPolyline, plotScale, plotTitles, round } from './time-plot-svg.js';
import { truncate } from './text.js';
import { formatBytes, formatDuration } from './units.js';

export { niceByteStep, niceSecondStep, thinToPixelColumns } from './time-plot-svg.js';

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

export function renderSeriesSvg(series: Series, options: SeriesSvgOptions = {}): string {
  const width = options.width ?? 1000;
  const height = options.height ?? 480;
  const lines = LINES.filter(
    (line) =>
      (line.name !== 'virtual size' || options.vsz === true) && series.samples.some((sample) => typeof line.value(sample) === 'number'),
  );
  const samples = series.samples;
  const summary = summarizeSeries(series);
  const t0 = samples[0]?.elapsed ?? 0;
  const t1 = Math.max(series.stop?.elapsed ?? 0, samples.at(-1)?.elapsed ?? 0, t0 + 1e-3);
  // A loop, not Math.max(...values): a long series has more values than a call has arguments.
  let maxValue = 1;
  for (const sample of samples) for (const line of lines) maxValue = Math.max(maxValue, line.value(sample) ?? 0);
  const scale = plotScale(width, height, t0, t1, maxValue, niceSecondStep);
  const { area: plot, x, y } = scale;

  const out = openSvg(width, height);
  const command = series.header.target.command === undefined ? '' : `: ${series.header.target.command.join(' ')}`;
  const subtitle = `${series.header.host ? `${series.header.host}, ` : ''}from ${series.header.start}; ${summary.samples} samples, peak RSS ${formatBytes(summary.peak?.rss ?? 0)}${series.decimation === undefined ? '' : `; ${decimationNote(series)}`}`;
  const trouble = series.stop === null || series.badLines > 0;
  const warning = `${summary.ending}${series.badLines > 0 ? `; ${series.badLines} unreadable lines skipped` : ''}`;
  out.push(
    ...plotTitles(
      width,
      `Memory of PID ${series.header.target.pid}${command}`,
      `${subtitle}${trouble ? '' : `; ${summary.ending}`}`,
      trouble ? warning : null,
    ),
  );
  out.push(...plotAxes(scale, formatDuration, 'elapsed time'));

  // Marks under the lines, labels on top of everything.
  const markIndexes = markSampleIndexes(series);
  series.marks.forEach((mark, index) => {
    const mx = round(x(mark.elapsed));
    out.push(
      `<line class="mark" x1="${mx}" x2="${mx}" y1="${plot.y}" y2="${plot.y + plot.height}" stroke="#495057" stroke-dasharray="4 3"/>`,
    );
    const at = samples[markIndexes[index]!];
    if (at !== undefined) out.push(`<circle cx="${mx}" cy="${round(y(at.rss))}" r="3" fill="#495057"/>`);
  });

  for (const line of lines) {
    const points = samples
      .filter((sample) => typeof line.value(sample) === 'number')
      .map((sample): [number, number] => [x(sample.elapsed), y(line.value(sample)!)]);
    out.push(plotPolyline(line, points));
  }

  // Labels of marks close together are pushed right, one text height apart, so none covers another.
  let lastLabelX = -Infinity;
  series.marks.forEach((mark, index) => {
    const mx = Math.max(round(x(mark.elapsed)), lastLabelX + 13);
    lastLabelX = mx;
    const at = samples[markIndexes[index]!];
    const text = truncate(oneLine(mark.text), 48);
    const tip = `${formatDuration(mark.elapsed)}: ${oneLine(mark.text)}${at === undefined ? '' : ` (RSS ${formatBytes(at.rss)})`}`;
    out.push(
      `<g class="mark-label"><title>${escapeXml(tip)}</title><text transform="translate(${mx + 4},${plot.y + 6}) rotate(90)" font-size="11" fill="#212529" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(text)}</text></g>`,
    );
  });

  // Legend, below the axis title.
  out.push(...plotLegend(height, plot.x, lines, series.marks.length > 0 ? [{ name: 'mark', color: '#495057', dash: '4 3' }] : []));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
