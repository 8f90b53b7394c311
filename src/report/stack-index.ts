// Chooses the renderer of a generic stack profile (folded stacks read by `memtrace report`).
import type { StackProfile } from '../model/stack-profile.js';
import { renderFlamegraphSvg } from './flamegraph-svg.js';
import { renderFolded } from './folded.js';
import { renderJson } from './json.js';
import { renderPprof } from './pprof.js';
import { renderSpeedscope } from './speedscope.js';
import { renderStackHtml } from './stack-html.js';
import { renderStackTable } from './stack-table.js';
import { extensionsOf, type ReportFamily } from './family.js';

export const STACK_FORMATS = ['table', 'json', 'folded', 'svg', 'pprof', 'speedscope', 'html'] as const;
export type StackFormat = (typeof STACK_FORMATS)[number];
/** The extensions of every stack report; malloc adds .tsv and .csv, trace-malloc .heapprofile. */
export const STACK_EXTENSIONS: Record<string, StackFormat> = extensionsOf(STACK_FORMATS);

export function renderStackProfile(
  profile: StackProfile,
  format: StackFormat,
  options: { title: string; top: number; notes?: string[] },
): string | Buffer {
  switch (format) {
    case 'table':
      return renderStackTable(profile, options);
    case 'json':
      // Notes (lost events, skipped lines) travel with the profile; without any, the profile as it is.
      return renderJson(options.notes !== undefined && options.notes.length > 0 ? { ...profile, notes: options.notes } : profile);
    case 'folded':
      return renderFolded(profile);
    case 'svg':
      return renderFlamegraphSvg(profile, { title: options.title, subtitle: options.notes?.join('; ') });
    case 'pprof':
      return renderPprof(profile, { comments: [options.title, ...(options.notes ?? [])] });
    case 'speedscope':
      return renderSpeedscope(profile, { name: options.title, notes: options.notes });
    case 'html':
      return renderStackHtml(profile, {
        title: options.title,
        notes: options.notes,
        graphs: [{ value: profile.defaultValue, title: `${options.title}: ${profile.defaultValue}, by stack` }],
        summary: renderStackTable(profile, options),
      });
  }
}

export const STACK_REPORTS: ReportFamily<StackProfile, StackFormat, { title: string; top: number; notes?: string[] }> = {
  formats: STACK_FORMATS,
  extensions: STACK_EXTENSIONS,
  render: renderStackProfile,
};
