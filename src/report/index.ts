// TEMPORARY stand-in until the renderers land: json only.
import type { MallocProfile, MallocValueName } from '../model/malloc-profile.js';
export type ReportFormat = 'table' | 'json' | 'folded' | 'svg' | 'tsv';
export function formatFromPath(path: string): ReportFormat {
  if (path.endsWith('.json')) return 'json';
  return 'table';
}
export function renderMalloc(profile: MallocProfile, _format: ReportFormat, _options: { value?: MallocValueName; top?: number } = {}): string {
  return `${JSON.stringify(profile, null, 2)}\n`;
}
