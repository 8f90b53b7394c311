// The shell of every HTML report: one offline page, style inline, nothing fetched, so that it opens
// from a file, a CI artifact or an e-mail the same way. Callers escape what they put in `body`.
import { escapeXml } from './flamegraph-svg.js';

const STYLE =
  'body{font-family:Verdana,sans-serif;margin:24px;color:#212529}pre{background:#f8f9fa;padding:12px;overflow-x:auto}svg{max-width:100%;height:auto}';

export function renderHtmlPage(title: string, body: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeXml(title)}</h1>`,
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** An SVG document as an element of the page: without its XML declaration. */
export function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*\?>\n/, '').trimEnd();
}
