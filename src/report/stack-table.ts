// The terminal table of a generic stack profile (folded stacks and other foreign inputs): the total,
// the leaf functions that hold the most, and the heaviest stacks.
import type { StackProfile } from '../model/stack-profile.js';
import { foldedName } from './folded.js';
import { formatBytes, formatCount } from './units.js';

export function renderStackTable(profile: StackProfile, options: { title: string; top: number; notes?: string[] }): string {
  const value = profile.defaultValue;
  const unit = profile.valueTypes.find((type) => type.name === value)?.unit ?? 'count';
  const format = (amount: number) => (unit === 'bytes' ? formatBytes(amount) : formatCount(amount));
  const total = profile.samples.reduce((sum, sample) => sum + (sample.values[value] ?? 0), 0);
  const leaves = new Map<string, number>();
  for (const sample of profile.samples) {
    const leaf = sample.frames.at(-1);
    const name = leaf === undefined ? '(no frames)' : foldedName(leaf);
    leaves.set(name, (leaves.get(name) ?? 0) + (sample.values[value] ?? 0));
  }
  const share = (amount: number) => (total === 0 ? '' : `${((amount / total) * 100).toFixed(1)}%`);
  const lines = [
    options.title,
    `Total: ${format(total)} ${value} in ${formatCount(profile.samples.length)} stacks`,
    ...(options.notes ?? []),
    '',
    `Leaf functions, by ${value}`,
  ];
  const rows = [...leaves].sort((a, b) => b[1] - a[1]).slice(0, options.top);
  const width = Math.max(...rows.map(([, amount]) => format(amount).length), 1);
  for (const [name, amount] of rows) lines.push(`  ${format(amount).padStart(width)}  ${share(amount).padStart(6)}  ${name}`);
  lines.push('', `Heaviest stacks (leaf ← callers)`);
  const stacks = [...profile.samples].sort((a, b) => (b.values[value] ?? 0) - (a.values[value] ?? 0)).slice(0, options.top);
  for (const sample of stacks) {
    lines.push(
      `  ${format(sample.values[value] ?? 0).padStart(width)}  ${share(sample.values[value] ?? 0).padStart(6)}  ${[...sample.frames].reverse().slice(0, 8).map(foldedName).join(' ← ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
