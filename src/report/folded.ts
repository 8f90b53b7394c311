// FlameGraph's folded format: one line per distinct stack, `root;caller;leaf VALUE`, sorted by stack
// (byte order) so that output is deterministic and diffable. Frame names are made safe for the
// format: `;` (the separator) becomes `:`, and runs of whitespace (newlines included) become one
// space, so a line is always one stack.
import { frameLabel, type Frame, type StackProfile } from '../model/stack-profile.js';

const NEEDS_CLEANING = /[;\s]/;

export function foldedName(frame: Frame): string {
  const name = frameLabel(frame);
  if (name !== '' && !NEEDS_CLEANING.test(name)) return name;
  return name.replace(/;/g, ':').replace(/\s+/g, ' ').trim() || '?';
}

export function foldedStack(frames: readonly Frame[]): string {
  return frames.map(foldedName).join(';');
}

export function renderFolded(profile: StackProfile, value: string = profile.defaultValue): string {
  // Summed by folded line: that merges equal stacks (pprof's rule) and stacks whose frames differ
  // only by module, which the folded format does not show.
  const totals = new Map<string, number>();
  for (const sample of profile.samples) {
    const amount = sample.values[value] ?? 0;
    if (amount === 0) continue;
    const key = foldedStack(sample.frames);
    totals.set(key, (totals.get(key) ?? 0) + amount);
  }
  const keys = [...totals.keys()].filter((key) => totals.get(key) !== 0).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((key) => `${key} ${totals.get(key)}\n`).join('');
}
