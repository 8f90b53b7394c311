// heap-stats as a table (its tsv and csv reports): one row per value reported, every figure in its
// unit (bytes or a count).
import type { HeapSpaceDiff } from '../model/heap-space-diff.js';
import type { DsvTable } from './dsv.js';

export function heapStatsTable(diff: HeapSpaceDiff): DsvTable {
  const columns = ['name', 'unit', 'before', 'after', 'delta', 'noise', 'adjusted', 'relative'] as const;
  return {
    columns,
    rows: diff.differences.map((difference) => ({
      ...difference,
      relative: Number.isFinite(difference.relative) ? difference.relative : 'new',
    })),
  };
}
