// The terminal table of `memtrace report --diff A B`: the total, then the functions and stacks that
// grew (and shrank) most, with before, after and the change.
import type { DiffRow, MallocDiff } from '../model/malloc-diff.js';
import { foldedName } from './folded.js';
import { formatBytes, formatCount } from './units.js';

export function renderMallocDiffTable(diff: MallocDiff, options: { top: number }): string {
  const isBytes = diff.value.endsWith('Bytes');
  const format = (value: number) => (isBytes ? formatBytes(value) : formatCount(value));
  const signed = (value: number) => (value > 0 ? `+${format(value)}` : value === 0 ? '0' : format(value));
  const percent = (row: DiffRow) =>
    row.before === 0 ? (row.after === 0 ? '' : 'new') : `${row.delta >= 0 ? '+' : ''}${((row.delta / row.before) * 100).toFixed(1)}%`;
  const lines: string[] = [];
  lines.push(`memtrace malloc diff (${diff.value}): ${diff.before.source} → ${diff.after.source}`);
  for (const [side, label] of [
    [diff.before, 'before'],
    [diff.after, 'after'],
  ] as const) {
    if (side.partial) lines.push(`note: the ${label} report is PARTIAL`);
  }
  lines.push(
    `Total: ${format(diff.total.before)} → ${format(diff.total.after)} (${signed(diff.total.delta)}${diff.total.before === 0 ? '' : `, ${percent(diff.total)}`})`,
  );
  const table = (title: string, rows: Array<DiffRow & { label: string }>) => {
    lines.push('', title);
    if (rows.length === 0) {
      lines.push('  (none)');
      return;
    }
    const cells = [
      ['Change', '%', 'Before', 'After', ''],
      ...rows.map((row) => [signed(row.delta), percent(row), format(row.before), format(row.after), row.label]),
    ];
    const widths = cells[0]!.map((_, column) => Math.max(...cells.map((cell) => cell[column]!.length)));
    for (const cell of cells)
      lines.push(
        `  ${cell.map((text, column) => (column === cell.length - 1 ? text : text.padStart(widths[column]!))).join('  ')}`.trimEnd(),
      );
  };
  const grew = <T extends DiffRow>(rows: T[]) => rows.filter((row) => row.delta > 0).slice(0, options.top);
  const shrank = <T extends DiffRow>(rows: T[]) =>
    rows
      .filter((row) => row.delta < 0)
      .reverse()
      .slice(0, options.top);
  table(
    'Functions that grew',
    grew(diff.functions).map((row) => ({ ...row, label: row.name })),
  );
  table(
    'Functions that shrank',
    shrank(diff.functions).map((row) => ({ ...row, label: row.name })),
  );
  table(
    'Stacks that grew (leaf ← callers)',
    grew(diff.stacks).map((row) => ({ ...row, label: [...row.frames].reverse().slice(0, 6).map(foldedName).join(' ← ') })),
  );
  return `${lines.join('\n')}\n`;
}
