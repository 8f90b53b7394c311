// One offline HTML page for a stack profile (malloc, folded stacks, trace-malloc): the interactive
// flame graphs of flamegraph-svg.ts inlined (hover, click to zoom, Search), one per value asked
// for, then the summary tables as the table report prints them.
import type { StackProfile } from '../model/stack-profile.js';
import { escapeXml, renderFlamegraphSvg } from './flamegraph-svg.js';
import { inlineSvg, renderHtmlPage } from './html-page.js';

export interface StackHtmlOptions {
  title: string;
  /** Lines under the title: what was traced, what is partial or missing. */
  notes?: string[];
  /** The flame graphs, in order: the value each shows and its heading. */
  graphs: Array<{ value: string; title: string }>;
  /** The summary tables, as the table report renders them. */
  summary: string;
  /** Sections of the page before the flame graphs (the --timeline plot), already HTML. */
  before?: string[];
}

export function renderStackHtml(profile: StackProfile, options: StackHtmlOptions): string {
  const notes = (options.notes ?? []).map((note) => `<p>${escapeXml(note)}</p>`);
  const graphs = options.graphs.flatMap((graph) => [
    `<h2>${escapeXml(graph.title)}</h2>`,
    inlineSvg(renderFlamegraphSvg(profile, { value: graph.value, title: graph.title })),
  ]);
  return renderHtmlPage(options.title, [
    ...notes,
    ...(options.before ?? []),
    ...graphs,
    '<h2>Summary</h2>',
    `<pre>${escapeXml(options.summary)}</pre>`,
  ]);
}
