// What grew between two malloc profiles (before, after): per stack and per allocating function,
// for one value (allocBytes by default). The model of `memtrace report --diff A B`.
import type { MallocProfile, MallocStack, MallocValueName } from './malloc-profile.js';
import { frameKey, type Frame } from './stack-profile.js';

export interface DiffRow {
  before: number;
  after: number;
  delta: number;
}

export interface MallocDiff {
  value: MallocValueName;
  before: { source: string; partial: boolean };
  after: { source: string; partial: boolean };
  total: DiffRow;
  /** By allocating function (the leaf frame), largest growth first. */
  functions: Array<DiffRow & { name: string }>;
  /** By whole stack (root first), largest growth first. */
  stacks: Array<DiffRow & { frames: Frame[] }>;
}

function stackKey(frames: readonly Frame[]): string {
  return frames.map(frameKey).join('\u0001');
}

function leafName(stack: MallocStack): string {
  return stack.frames.at(-1)?.name ?? '(no frames)';
}

function byDelta<T extends DiffRow>(rows: Iterable<T>): T[] {
  return [...rows].filter((row) => row.before !== 0 || row.after !== 0).sort((a, b) => b.delta - a.delta || b.after - a.after);
}

export function diffMallocProfiles(
  before: MallocProfile,
  after: MallocProfile,
  options: { value: MallocValueName; beforeSource: string; afterSource: string },
): MallocDiff {
  const value = options.value;
  const stacks = new Map<string, DiffRow & { frames: Frame[] }>();
  const functions = new Map<string, DiffRow & { name: string }>();
  const add = (profile: MallocProfile, side: 'before' | 'after') => {
    for (const stack of profile.stacks) {
      const amount = stack[value];
      const key = stackKey(stack.frames);
      const row = stacks.get(key) ?? { frames: stack.frames, before: 0, after: 0, delta: 0 };
      row[side] += amount;
      stacks.set(key, row);
      const name = leafName(stack);
      const fn = functions.get(name) ?? { name, before: 0, after: 0, delta: 0 };
      fn[side] += amount;
      functions.set(name, fn);
    }
  };
  add(before, 'before');
  add(after, 'after');
  for (const row of [...stacks.values(), ...functions.values()]) row.delta = row.after - row.before;
  const total = { before: before.totals[value], after: after.totals[value], delta: after.totals[value] - before.totals[value] };
  return {
    value,
    before: { source: options.beforeSource, partial: before.partial },
    after: { source: options.afterSource, partial: after.partial },
    total,
    functions: byDelta(functions.values()),
    stacks: byDelta(stacks.values()),
  };
}
