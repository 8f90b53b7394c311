// One offline HTML page for a process series: the SVG plot inline, the summary table, the marks.
// Nothing is fetched: the page opens from a file, a CI artifact or an e-mail the same way.
import type { Series } from '../model/series.js';
import { oneLine } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import { renderSeriesSvg } from './series-svg.js';
import { renderSeriesTable } from './series-table.js';
import { formatDuration } from './units.js';

export function renderSeriesHtml(series: Series): string {
  const svg = renderSeriesSvg(series, { width: 1100, height: 520 }).replace(/^<\?xml[^>]*\?>\n/, '');
  const title = `memtrace process: PID ${series.header.target.pid}`;
  const marks = series.marks.map((mark) => `<li><b>${escapeXml(formatDuration(mark.elapsed))}</b> ${escapeXml(oneLine(mark.text))} <small>(${escapeXml(mark.source)}, ${escapeXml(mark.t)})</small></li>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    '<style>body{font-family:Verdana,sans-serif;margin:24px;color:#212529}pre{background:#f8f9fa;padding:12px;overflow-x:auto}svg{max-width:100%;height:auto}</style>',
    '</head>',
    '<body>',
    `<h1>${escapeXml(title)}</h1>`,
    svg.trimEnd(),
    '<h2>Summary</h2>',
    `<pre>${escapeXml(renderSeriesTable(series))}</pre>`,
    ...(marks.length > 0 ? ['<h2>Marks</h2>', '<ul>', ...marks, '</ul>'] : []),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
