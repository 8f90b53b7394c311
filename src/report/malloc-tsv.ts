// One row per stack, for spreadsheets and scripts; written by d3-dsv, which quotes what needs it.
import { tsvFormat } from 'd3-dsv';
import type { MallocProfile } from '../model/malloc-profile.js';
import { foldedStack } from './folded.js';

export const MALLOC_TSV_COLUMNS: Array<'stack' | 'leaf' | 'leafModule' | 'allocs' | 'allocBytes' | 'outstanding' | 'outstandingBytes' | 'oldestAgeSeconds'> = ['stack', 'leaf', 'leafModule', 'allocs', 'allocBytes', 'outstanding', 'outstandingBytes', 'oldestAgeSeconds'];

export function renderMallocTsv(profile: MallocProfile): string {
  const rows = profile.stacks
    .map((stack) => ({
      stack: foldedStack(stack.frames),
      leaf: stack.frames.at(-1)?.name ?? '',
      leafModule: stack.frames.at(-1)?.module ?? '',
      allocs: String(stack.allocs),
      allocBytes: String(stack.allocBytes),
      outstanding: String(stack.outstanding),
      outstandingBytes: String(stack.outstandingBytes),
      oldestAgeSeconds: stack.oldestAgeSeconds === null ? '' : String(stack.oldestAgeSeconds),
    }))
    .sort((a, b) => Number(b.allocBytes) - Number(a.allocBytes) || (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  return `${tsvFormat(rows, MALLOC_TSV_COLUMNS)}\n`;
}
