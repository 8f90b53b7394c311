// One offline HTML page for a process series: the SVG plot inline, the summary table, the marks.
import type { Series } from '../model/series.js';
import { oneLine } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import { inlineSvg, renderHtmlPage } from './html-page.js';
import { renderSeriesSvg } from './series-svg.js';
import { renderSeriesTable } from './series-table.js';
import { formatDuration } from './units.js';

export function renderSeriesHtml(series: Series): string {
  const marks = series.marks.map(
    (mark) =>
      `<li><b>${escapeXml(formatDuration(mark.elapsed))}</b> ${escapeXml(oneLine(mark.text))} <small>(${escapeXml(mark.source)}, ${escapeXml(mark.t)})</small></li>`,
  );
  return renderHtmlPage(`memtrace process: PID ${series.header.target.pid}`, [
    inlineSvg(renderSeriesSvg(series, { width: 1100, height: 520 })),
    '<h2>Summary</h2>',
    `<pre>${escapeXml(renderSeriesTable(series))}</pre>`,
    ...(marks.length > 0 ? ['<h2>Marks</h2>', '<ul>', ...marks, '</ul>'] : []),
  ]);
}
