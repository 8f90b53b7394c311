// Chooses the renderer of an explain report (an RssExplanation): by the output file's extension, or by --format.
import type { RssExplanation } from '../model/rss-explanation.js';
import { renderExplainHtml } from './explain-html.js';
import { renderExplainTable } from './explain-table.js';
import { extensionsOf, type ReportFamily } from './family.js';
import { renderJson } from './json.js';

export const EXPLAIN_FORMATS = ['table', 'json', 'html'] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

export const EXPLAIN_REPORTS: ReportFamily<RssExplanation, ExplainFormat, Record<string, never>> = {
  formats: EXPLAIN_FORMATS,
  extensions: extensionsOf(EXPLAIN_FORMATS),
  render: (explanation, format) =>
    format === 'json' ? renderJson(explanation) : format === 'html' ? renderExplainHtml(explanation) : renderExplainTable(explanation),
};
