// What test/workloads/known-allocs.c allocates, one round: the figures every malloc test checks.
import type { MallocProfile, MallocStack } from '../../src/model/malloc-profile.js';

export const KNOWN_FUNCTIONS = {
  malloc: { calls: 72, bytes: 41 * 24 + 29 * 4096, failed: 2 },
  calloc: { calls: 17, bytes: 17 * 700, failed: 0 },
  realloc: { calls: 5, bytes: 64 + 128 + 256 + 512 + 1024, failed: 0 },
  posix_memalign: { calls: 11, bytes: 11 * 2048, failed: 0 },
  aligned_alloc: { calls: 3, bytes: 3 * 512, failed: 0 },
  free: { calls: 79, bytes: 0, failed: 0 },
};

export const KNOWN_TOTALS = {
  allocs: 106,
  frees: 80,
  allocBytes: 157_716,
  failed: 2,
  freeNull: 3,
  outstanding: 26,
  outstandingBytes: 69_412,
};

/** Per allocating function (the leaf frame): allocs, bytes, outstanding blocks and bytes. */
export const KNOWN_STACKS: Record<string, { allocs: number; allocBytes: number; outstanding: number; outstandingBytes: number }> = {
  make_small: { allocs: 41, allocBytes: 984, outstanding: 0, outstandingBytes: 0 },
  make_pages: { allocs: 29, allocBytes: 118_784, outstanding: 13, outstandingBytes: 53_248 },
  make_arrays: { allocs: 17, allocBytes: 11_900, outstanding: 7, outstandingBytes: 4_900 },
  make_aligned: { allocs: 11, allocBytes: 22_528, outstanding: 5, outstandingBytes: 10_240 },
  make_aligned2: { allocs: 3, allocBytes: 1_536, outstanding: 0, outstandingBytes: 0 },
  // grow_chain has two call sites: realloc(NULL, 64), then the loop of four.
  grow_chain: { allocs: 5, allocBytes: 1_984, outstanding: 1, outstandingBytes: 1_024 },
};

/** Sums the stacks whose leaf frame is `name` (a function may allocate from several call sites). */
export function stacksOf(
  profile: MallocProfile,
  name: string,
): { allocs: number; allocBytes: number; outstanding: number; outstandingBytes: number; stacks: MallocStack[] } {
  const stacks = profile.stacks.filter((stack) => stack.frames.at(-1)?.name === name);
  const sum = (key: 'allocs' | 'allocBytes' | 'outstanding' | 'outstandingBytes') => stacks.reduce((total, stack) => total + stack[key], 0);
  return {
    allocs: sum('allocs'),
    allocBytes: sum('allocBytes'),
    outstanding: sum('outstanding'),
    outstandingBytes: sum('outstandingBytes'),
    stacks,
  };
}

/** The function summary keyed by name; aliases joined by "/" (aligned_alloc/memalign) count under each name. */
export function functionsByName(profile: MallocProfile): Record<string, { calls: number; bytes: number; failed: number }> {
  const byName: Record<string, { calls: number; bytes: number; failed: number }> = {};
  for (const fn of profile.functions) {
    for (const name of fn.name.split('/')) byName[name] = { calls: fn.calls, bytes: fn.bytes, failed: fn.failed };
  }
  return byName;
}
