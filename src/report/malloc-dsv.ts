// One row per stack, for spreadsheets and scripts (the tsv and csv reports of malloc), heaviest first.
import type { MallocProfile } from '../model/malloc-profile.js';
import type { DsvTable } from './dsv.js';
import { foldedStack } from './folded.js';

export const MALLOC_DSV_COLUMNS = [
  'stack',
  'leaf',
  'leafModule',
  'allocs',
  'allocBytes',
  'outstanding',
  'outstandingBytes',
  'oldestAgeSeconds',
] as const;

export function mallocStackTable(profile: MallocProfile): DsvTable<(typeof MALLOC_DSV_COLUMNS)[number]> {
  const rows = profile.stacks
    .map((stack) => ({
      stack: foldedStack(stack.frames),
      leaf: stack.frames.at(-1)?.name ?? '',
      leafModule: stack.frames.at(-1)?.module ?? '',
      allocs: stack.allocs,
      allocBytes: stack.allocBytes,
      outstanding: stack.outstanding,
      outstandingBytes: stack.outstandingBytes,
      oldestAgeSeconds: stack.oldestAgeSeconds ?? '',
    }))
    .sort((a, b) => b.allocBytes - a.allocBytes || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  return { columns: MALLOC_DSV_COLUMNS, rows };
}
