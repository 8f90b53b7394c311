// The html report of `memtrace explain`: one bar of the RSS cut into its parts, a table of the parts
// and their biggest members, and the diagnosis; one offline page (html-page.ts).
import { PART_LABELS, PART_ORDER, type RssExplanation, type RssPartKind } from '../model/rss-explanation.js';
import { escapeXml } from './flamegraph-svg.js';
import { renderHtmlPage } from './html-page.js';
import { formatBytes } from './units.js';

const COLOURS: Record<RssPartKind, string> = {
  'malloc-live': '#d9534f',
  'malloc-retained': '#f0ad4e',
  'malloc-unsplit': '#e67e22',
  'v8-heap': '#5cb85c',
  'v8-external': '#8bc34a',
  pymalloc: '#337ab7',
  file: '#5bc0de',
  stacks: '#9b59b6',
  'anon-other': '#95a5a6',
};

const BAR_WIDTH = 900;

export function renderExplainHtml(explanation: RssExplanation): string {
  const body: string[] = [];
  body.push(
    `<p>PID ${explanation.pid} <code>${escapeXml(explanation.command)}</code> at ${escapeXml(explanation.takenAt)}: RSS <b>${formatBytes(explanation.rssBytes)}</b></p>`,
  );
  body.push(bar(explanation));
  body.push('<h2>Diagnosis</h2>', '<ul>');
  for (const finding of explanation.diagnosis) {
    const details = [...finding.evidence, ...finding.remedies.map((remedy) => `try: ${remedy}`)];
    body.push(`<li><b>${escapeXml(finding.summary)}</b><ul>${details.map((line) => `<li>${escapeXml(line)}</li>`).join('')}</ul></li>`);
  }
  body.push('</ul>', '<h2>Parts</h2>', '<table>', '<tr><th>Part</th><th>Resident</th><th>Share</th><th>Measured</th><th>Biggest</th></tr>');
  for (const part of explanation.parts) {
    const members = part.members
      .slice(0, 5)
      .map((member) => `${escapeXml(member.name)}: ${formatBytes(member.bytes)}`)
      .join('<br>');
    body.push(
      `<tr><td>${escapeXml(PART_LABELS[part.kind])}</td><td>${formatBytes(part.bytes)}</td><td>${(part.share * 100).toFixed(1)}%</td><td title="${escapeXml(part.how)}">${part.accuracy}</td><td>${members}</td></tr>`,
    );
  }
  body.push('</table>');
  if (explanation.notes.length > 0)
    body.push('<h2>Notes</h2>', `<ul>${explanation.notes.map((note) => `<li>${escapeXml(note)}</li>`).join('')}</ul>`);
  return renderHtmlPage(`memtrace explain: where PID ${explanation.pid}'s RSS is`, body);
}

/** The RSS as one horizontal bar, a segment a part, in the parts' fixed order. */
function bar(explanation: RssExplanation): string {
  const segments: string[] = [];
  let x = 0;
  for (const kind of PART_ORDER) {
    const part = explanation.parts.find((candidate) => candidate.kind === kind);
    if (part === undefined || part.bytes === 0) continue;
    const width = explanation.rssBytes === 0 ? 0 : (part.bytes / explanation.rssBytes) * BAR_WIDTH;
    segments.push(
      `<rect x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="40" fill="${COLOURS[kind]}"><title>${escapeXml(PART_LABELS[kind])}: ${formatBytes(part.bytes)}</title></rect>`,
    );
    x += width;
  }
  const legend = PART_ORDER.filter((kind) => explanation.parts.some((part) => part.kind === kind)).map(
    (kind, index) =>
      `<rect x="${(index % 3) * 300}" y="${50 + Math.floor(index / 3) * 20}" width="12" height="12" fill="${COLOURS[kind]}"/><text x="${(index % 3) * 300 + 18}" y="${61 + Math.floor(index / 3) * 20}" font-size="12">${escapeXml(PART_LABELS[kind].replace(/ \(.*\)$/, ''))}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${BAR_WIDTH}" height="100" role="img">${segments.join('')}${legend.join('')}</svg>`;
}
