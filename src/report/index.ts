// Chooses the renderer for a report: by the output file's extension, or by --format for stdout.
import { mallocStackProfile, type MallocProfile, type MallocValueName } from '../model/malloc-profile.js';
import { renderFlamegraphSvg } from './flamegraph-svg.js';
import { renderFolded } from './folded.js';
import { renderJson } from './json.js';
import { renderMallocTable } from './malloc-table.js';
import { renderMallocTsv } from './malloc-tsv.js';
import { STACK_EXTENSIONS } from './stack-index.js';
import { GO_HEAP_SAMPLE_TYPES, renderPprof } from './pprof.js';

export type ReportFormat = 'table' | 'json' | 'folded' | 'svg' | 'tsv' | 'pprof';

export const EXTENSIONS: Record<string, ReportFormat> = { ...STACK_EXTENSIONS, '.tsv': 'tsv' };

/** A report file's extension: the last one, or ".pb.gz" (pprof's usual name) as a whole. */
function fileExtension(path: string): string | undefined {
  return /(\.pb\.gz|\.[A-Za-z]+)$/i.exec(path)?.[0]?.toLowerCase();
}

/** The format `extensions` gives a path's extension, or undefined when it names none. */
export function formatByExtension<F>(path: string, extensions: Record<string, F>): F | undefined {
  const extension = fileExtension(path);
  return extension === undefined ? undefined : extensions[extension];
}

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

export function renderMalloc(profile: MallocProfile, format: ReportFormat, options: { value?: MallocValueName; top?: number } = {}): string | Buffer {
  const value = options.value ?? 'allocBytes';
  switch (format) {
    case 'table':
      return renderMallocTable(profile, { top: options.top });
    case 'json':
      return renderJson(profile);
    case 'folded':
      return renderFolded(mallocStackProfile(profile, value));
    case 'svg':
      return renderFlamegraphSvg(mallocStackProfile(profile, value), { title: SVG_TITLES[value], subtitle: profile.partial ? `PARTIAL: ${profile.partialReason}` : undefined });
    case 'tsv':
      return renderMallocTsv(profile);
    case 'pprof':
      return renderPprof(mallocStackProfile(profile, value), {
        typeNames: GO_HEAP_SAMPLE_TYPES,
        start: profile.startedAt === null ? undefined : new Date(profile.startedAt),
        durationSeconds: profile.durationSeconds ?? undefined,
        comments: [`memtrace ${profile.tool}${profile.partial ? `, PARTIAL: ${profile.partialReason}` : ''}`],
      });
  }
}
