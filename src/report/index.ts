// Chooses the renderer for a report: by the output file's extension, or by --format for stdout.
import { mallocStackProfile, type MallocProfile, type MallocValueName } from '../model/malloc-profile.js';
import { renderFlamegraphSvg } from './flamegraph-svg.js';
import { renderFolded } from './folded.js';
import { renderJson } from './json.js';
import { renderMallocTable } from './malloc-table.js';
import { mallocStackTable } from './malloc-dsv.js';
import { renderDsv } from './dsv.js';
import { STACK_FORMATS } from './stack-index.js';
import { GO_HEAP_SAMPLE_TYPES, renderPprof } from './pprof.js';
import { renderSpeedscope } from './speedscope.js';
import { renderStackHtml } from './stack-html.js';
import { renderCompanionSvg, renderGrowthHtml, renderGrowthSvg } from './growth-svg.js';
import type { Series } from '../model/series.js';
import { inlineSvg } from './html-page.js';
import { extensionsOf, formatByExtension, type ReportFamily } from './family.js';

export const REPORT_FORMATS = ['table', 'json', 'folded', 'svg', 'tsv', 'csv', 'pprof', 'speedscope', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A stack report's extensions, then .tsv and .csv. */
export const EXTENSIONS: Record<string, ReportFormat> = extensionsOf([...STACK_FORMATS, 'tsv', 'csv']);

export function formatFromPath(path: string): ReportFormat {
  const format = formatByExtension(path, EXTENSIONS);
  if (format === undefined) {
    throw new Error(`${path}: cannot tell the report format from the extension; use one of ${Object.keys(EXTENSIONS).join(' ')}`);
  }
  return format;
}

const SVG_TITLES: Record<MallocValueName, string> = {
  allocBytes: 'malloc: bytes allocated, by stack',
  allocs: 'malloc: allocations, by stack',
  outstandingBytes: 'malloc: bytes outstanding at the end, by stack',
  outstanding: 'malloc: blocks outstanding at the end, by stack',
};

/** What a report without the table's losses line must still say. */
function lossNotes(profile: MallocProfile): string[] {
  return [
    ...(profile.partial ? [`PARTIAL: ${profile.partialReason}`] : []),
    ...(profile.losses.skippedLines > 0 ? [`${profile.losses.skippedLines} malformed lines skipped (--lenient)`] : []),
    ...(profile.losses.foreignLines > 0 ? [`${profile.losses.foreignLines} foreign lines read past`] : []),
  ];
}

function targetName(profile: MallocProfile): string {
  return profile.target.command?.join(' ') ?? (profile.target.pid === null ? 'unknown target' : `PID ${profile.target.pid}`);
}

export function renderMalloc(
  profile: MallocProfile,
  format: ReportFormat,
  options: { value?: MallocValueName; top?: number; companion?: Series } = {},
): string | Buffer {
  const value = options.value ?? 'allocBytes';
  switch (format) {
    case 'table':
      return renderMallocTable(profile, { top: options.top });
    case 'json':
      return renderJson(profile);
    case 'folded':
      return renderFolded(mallocStackProfile(profile, value));
    case 'svg':
      return renderFlamegraphSvg(mallocStackProfile(profile, value), {
        title: SVG_TITLES[value],
        subtitle: profile.partial ? `PARTIAL: ${profile.partialReason}` : undefined,
      });
    case 'tsv':
    case 'csv':
      return renderDsv(mallocStackTable(profile), format);
    case 'speedscope':
      return renderSpeedscope(mallocStackProfile(profile, value), {
        name: `memtrace malloc: ${targetName(profile)}`,
        notes: lossNotes(profile),
      });
    case 'html':
      return renderStackHtml(mallocStackProfile(profile, value), {
        title: `memtrace malloc: ${targetName(profile)}`,
        notes: lossNotes(profile),
        // The value asked for first, then the two byte measures: what was allocated, what is still held.
        graphs: [...new Set<MallocValueName>([value, 'allocBytes', 'outstandingBytes'])].map((name) => ({
          value: name,
          title: SVG_TITLES[name],
        })),
        summary: renderMallocTable(profile, { top: options.top }),
        ...(profile.timeline === undefined
          ? {}
          : {
              before: renderGrowthHtml(profile, [
                inlineSvg(renderGrowthSvg(profile)),
                ...(options.companion === undefined ? [] : [inlineSvg(renderCompanionSvg(profile, options.companion))]),
              ]),
            }),
      });
    case 'pprof':
      return renderPprof(mallocStackProfile(profile, value), {
        typeNames: GO_HEAP_SAMPLE_TYPES,
        start: profile.startedAt === null ? undefined : new Date(profile.startedAt),
        durationSeconds: profile.durationSeconds ?? undefined,
        comments: [`memtrace ${profile.tool}${profile.partial ? `, PARTIAL: ${profile.partialReason}` : ''}`],
      });
  }
}

/** malloc's reports (and external's, and every malloc log's in `memtrace report`). */
export const MALLOC_REPORTS: ReportFamily<MallocProfile, ReportFormat, { value?: MallocValueName; top?: number }> = {
  formats: REPORT_FORMATS,
  extensions: EXTENSIONS,
  render: renderMalloc,
};
