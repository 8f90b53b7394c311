// The terminal table of trace-malloc: the allocation sites by bytes, with counts and share, and
// what the sampling can and cannot say.
import type { JsHeapReport } from '../model/js-heap-profile.js';
import { formatBytes, formatCount, formatDuration } from './units.js';

export function renderJsHeapTable(report: JsHeapReport, options: { top?: number } = {}): string {
  const { header, totals, overhead } = report;
  const top = options.top ?? 20;
  const lines: string[] = [];
  const target =
    header.target.command === undefined ? `PID ${header.target.pid}` : `PID ${header.target.pid} (${header.target.command.join(' ')})`;
  lines.push(
    `memtrace trace-malloc: ${target}, Node ${header.node} on ${header.host}, ${formatDuration(header.durationSeconds)} from ${header.start}`,
  );
  lines.push(
    `${header.mode === 'allocated' ? 'allocated (collected objects included)' : 'retained (still alive at the end)'}; one sample every ${formatBytes(header.samplingInterval)} on average; by ${header.groupBy}`,
  );
  lines.push(
    `Total: ${formatBytes(totals.bytes)} estimated from ${formatCount(totals.count)} samples; profiler overhead taken out: ${formatBytes(overhead.bytes)} (${formatCount(overhead.samples)} samples)`,
  );
  if (report.error !== undefined) lines.push(`THE BLOCK THREW: ${report.error} (allocations up to the throw)`);
  lines.push('');
  if (report.sites.length === 0) {
    lines.push(
      'No allocation was sampled: the block allocated less than the sampling interval, or only outside the JavaScript heap (Buffers, native code).',
    );
    return `${lines.join('\n')}\n`;
  }
  const rows = [['Bytes', 'Share', 'Samples', report.header.groupBy === 'stack' ? 'Stack (root first)' : 'Site']];
  for (const site of report.sites.slice(0, top)) {
    const place = site.file === '' ? '' : site.line > 0 ? `${site.file}:${site.line}` : site.file;
    const label =
      report.header.groupBy === 'stack'
        ? (site.stack ?? '')
        : report.header.groupBy === 'file'
          ? place || '(V8 internals)'
          : `${site.function}${place === '' ? '' : `  ${place}`}`;
    rows.push([formatBytes(site.bytes), `${((site.bytes / totals.bytes) * 100).toFixed(1)}%`, formatCount(site.count), label]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    lines.push(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padStart(widths[column]!))).join('  '));
  if (report.sites.length > top)
    lines.push(
      `… ${report.sites.length - top} more sites (${formatBytes(report.sites.slice(top).reduce((sum, site) => sum + site.bytes, 0))})`,
    );
  return `${lines.join('\n')}\n`;
}
