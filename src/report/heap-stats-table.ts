// The terminal table of heap-stats, debug_malloc_stats-like: each value that moved significantly,
// its before and after, the change with the tool's own noise taken off, and that change relative
// to the value before; then what was left out and why.
import type { HeapSpaceDiff } from '../model/heap-space-diff.js';
import { formatBytes, formatCount, formatDuration } from './units.js';

export function renderHeapStatsTable(diff: HeapSpaceDiff): string {
  const lines: string[] = [];
  const { header, thresholds } = diff;
  const target =
    header.target.command === undefined ? `PID ${header.target.pid}` : `PID ${header.target.pid} (${header.target.command.join(' ')})`;
  lines.push(
    `memtrace heap-stats: ${target}, Node ${header.node} on ${header.host}, ${formatDuration(header.durationSeconds)} from ${header.start}`,
  );
  lines.push(
    `${header.gc ? 'a full GC before each snapshot' : 'no GC before the snapshots: garbage counts as growth'}; thresholds: ${formatBytes(thresholds.minBytes)} and ${formatPercent(thresholds.minRelative)} of the value before, after the noise of an empty block is taken off`,
  );
  if (diff.error !== undefined) lines.push(`THE BLOCK THREW: ${diff.error} (figures up to the throw)`);
  lines.push('');
  if (diff.differences.length === 0) {
    lines.push(`No significant difference: all ${diff.compared} values stayed under the thresholds.`);
    return `${lines.join('\n')}\n`;
  }
  const format = (value: number, unit: 'bytes' | 'count') => (unit === 'count' ? formatCount(value) : formatBytes(value));
  const signed = (value: number, unit: 'bytes' | 'count') => (value > 0 ? `+${format(value, unit)}` : format(value, unit));
  const rows = [['Value', 'Before', 'After', 'Change', 'Noise', 'Change %']];
  for (const difference of diff.differences) {
    rows.push([
      difference.name,
      format(difference.before, difference.unit),
      format(difference.after, difference.unit),
      signed(difference.adjusted, difference.unit),
      difference.noise === 0 ? '' : `±${format(difference.noise, difference.unit)}`,
      Number.isFinite(difference.relative) ? `${difference.relative > 0 ? '+' : ''}${formatPercent(difference.relative)}` : 'new',
    ]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    lines.push(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!))).join('  '));
  lines.push('');
  lines.push(
    `${diff.differences.length} of ${diff.compared} values shown; ${diff.belowThreshold} stayed under the thresholds${diff.differences.length + diff.belowThreshold > diff.compared ? ' (--all shows them too)' : ''}.`,
  );
  return `${lines.join('\n')}\n`;
}

function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  return `${Math.abs(percent) >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}
