// Chooses the renderer of a faults report: its own table and json, the stack renderers for the rest.
import { faultsStackProfile, type FaultsProfile, type FaultsValueName } from '../model/faults-profile.js';
import { renderFaultsTable } from './faults-table.js';
import { renderJson } from './json.js';
import type { ReportFamily } from './family.js';
import { renderStackProfile, STACK_EXTENSIONS, STACK_FORMATS, type StackFormat } from './stack-index.js';

const TITLES: Record<FaultsValueName, string> = {
  residentBytes: 'faults: bytes made resident, by stack',
  faults: 'faults: page faults, by stack',
  brkBytes: 'faults: brk growth, by stack',
  mmapBytes: 'faults: bytes mmapped, by stack',
};

export function renderFaults(
  profile: FaultsProfile,
  format: StackFormat,
  options: { value?: FaultsValueName; top?: number } = {},
): string | Buffer {
  const value = options.value ?? 'residentBytes';
  if (format === 'table') return renderFaultsTable(profile, { top: options.top });
  if (format === 'json') return renderJson(profile);
  const notes = [
    ...(profile.partial ? [`PARTIAL: ${profile.partialReason}`] : []),
    ...(profile.losses.skippedLines > 0 ? [`${profile.losses.skippedLines} malformed lines skipped (--lenient)`] : []),
    ...(profile.losses.foreignLines > 0 ? [`${profile.losses.foreignLines} foreign lines read past`] : []),
  ];
  return renderStackProfile(faultsStackProfile(profile, value), format, { title: TITLES[value], top: options.top ?? 10, notes });
}

/** faults' reports: the stack formats, with its own table and json. */
export const FAULTS_REPORTS: ReportFamily<FaultsProfile, StackFormat, { value?: FaultsValueName; top?: number }> = {
  formats: STACK_FORMATS,
  extensions: STACK_EXTENSIONS,
  render: renderFaults,
};
