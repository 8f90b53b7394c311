// One row per collection, in time order, every value in plain units (seconds, milliseconds,
// bytes): for spreadsheets and scripts. Written with d3-dsv (csv too), which quotes what needs it.
import { csvFormat, tsvFormat } from 'd3-dsv';
import type { GcLog } from '../model/gc-log.js';

const COLUMNS = ['startSeconds', 'kind', 'reason', 'pauseMs', 'rssBeforeBytes', 'rssAfterBytes', 'tid'] as const;

export function renderGcTsv(log: GcLog, separator: 'tab' | 'comma' = 'tab'): string {
  const rows = log.collections.map((collection) => ({ ...collection, reason: collection.reason ?? '' }));
  return `${(separator === 'tab' ? tsvFormat : csvFormat)(rows, [...COLUMNS])}\n`;
}
