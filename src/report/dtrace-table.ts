// The terminal table of printed DTrace aggregations: the stack table, then each distribution as
// DTrace drew it (value, bar, count) and the other keyed values, largest first.
import type { StackProfile } from '../model/stack-profile.js';
import { renderStackTable } from './stack-table.js';
import { formatCount } from './units.js';

/** The parts of the parsed aggregations this table shows (parse/ types are not imported here). */
export interface DtraceTableInput {
  values: Array<{ key: string; value: number }>;
  distributions: Array<{ key: string; rows: Array<{ label: string; count: number }> }>;
}

const BAR_WIDTH = 40;

export function renderDtraceAggregationTable(
  input: DtraceTableInput,
  stacks: StackProfile,
  options: { title: string; top: number; notes?: string[] },
): string {
  const lines: string[] = [];
  if (stacks.samples.length > 0) lines.push(renderStackTable(stacks, options).trimEnd());
  else lines.push(options.title, ...(options.notes ?? []));
  if (input.values.length > 0) {
    lines.push('', 'Values, by key');
    const rows = [...input.values].sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1)).slice(0, options.top);
    const width = Math.max(...rows.map((row) => formatCount(row.value).length));
    for (const row of rows) lines.push(`  ${formatCount(row.value).padStart(width)}  ${row.key === '' ? '(no key)' : row.key}`);
  }
  for (const distribution of input.distributions) {
    const total = distribution.rows.reduce((sum, row) => sum + row.count, 0);
    const labelWidth = Math.max(5, ...distribution.rows.map((row) => row.label.length));
    lines.push('', `Distribution${distribution.key === '' ? '' : ` of ${distribution.key}`} (${formatCount(total)} values)`);
    for (const row of distribution.rows) {
      const bar = total === 0 ? '' : '@'.repeat(Math.round((row.count / total) * BAR_WIDTH));
      lines.push(`  ${row.label.padStart(labelWidth)} |${bar.padEnd(BAR_WIDTH)} ${formatCount(row.count)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
