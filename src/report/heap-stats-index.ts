// Chooses the renderer of a heap-stats report (a HeapSpaceDiff): by the output file's extension, or by --format.
import type { HeapSpaceDiff } from '../model/heap-space-diff.js';
import { renderDsv } from './dsv.js';
import { extensionsOf, type ReportFamily } from './family.js';
import { heapStatsTable } from './heap-stats-dsv.js';
import { renderHeapStatsTable } from './heap-stats-table.js';
import { renderJson } from './json.js';

export const HEAP_STATS_FORMATS = ['table', 'json', 'tsv', 'csv'] as const;
export type HeapStatsFormat = (typeof HEAP_STATS_FORMATS)[number];

export const HEAP_STATS_REPORTS: ReportFamily<HeapSpaceDiff, HeapStatsFormat, Record<string, never>> = {
  formats: HEAP_STATS_FORMATS,
  extensions: extensionsOf(HEAP_STATS_FORMATS),
  render: (diff, format) =>
    format === 'json'
      ? renderJson(diff)
      : format === 'tsv' || format === 'csv'
        ? renderDsv(heapStatsTable(diff), format)
        : renderHeapStatsTable(diff),
};
