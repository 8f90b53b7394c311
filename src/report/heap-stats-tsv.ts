// heap-stats as TSV: one row per value reported, every figure in its unit (bytes or a count).
import { tsvFormat } from 'd3-dsv';
import type { HeapSpaceDiff } from '../model/heap-space-diff.js';

export function renderHeapStatsTsv(diff: HeapSpaceDiff): string {
  const columns = ['name', 'unit', 'before', 'after', 'delta', 'noise', 'adjusted', 'relative'] as const;
  return `${tsvFormat(diff.differences.map((difference) => ({ ...difference, relative: Number.isFinite(difference.relative) ? difference.relative : 'new' })), [...columns])}\n`;
}
