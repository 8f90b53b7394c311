// One snapshot of V8's heap figures, flattened to named numbers: the four sources heap-stats
// compares (v8.getHeapSpaceStatistics, getHeapStatistics, getHeapCodeStatistics and
// process.memoryUsage). CommonJS with node: builtins only, because the heap-stats preload loads it
// inside the user's program; the ESM API imports the same file.
//
// Names: space.<space>.{size,used,available,physical}, heap.<field>, code.<field>, process.<field>.
import { getHeapCodeStatistics, getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export type HeapSnapshot = Record<string, number>;

/** Fields that count things rather than bytes (named so reports do not print them as sizes). */
export const COUNT_FIELDS: readonly string[] = ['heap.number_of_native_contexts', 'heap.number_of_detached_contexts', 'heap.does_zap_garbage'];

export function takeHeapSnapshot(): HeapSnapshot {
  const snapshot: HeapSnapshot = {};
  for (const space of getHeapSpaceStatistics()) {
    snapshot[`space.${space.space_name}.size`] = space.space_size;
    snapshot[`space.${space.space_name}.used`] = space.space_used_size;
    snapshot[`space.${space.space_name}.available`] = space.space_available_size;
    snapshot[`space.${space.space_name}.physical`] = space.physical_space_size;
  }
  for (const [name, value] of Object.entries(getHeapStatistics())) {
    if (typeof value === 'number') snapshot[`heap.${name}`] = value;
  }
  for (const [name, value] of Object.entries(getHeapCodeStatistics())) {
    if (typeof value === 'number') snapshot[`code.${name}`] = value;
  }
  for (const [name, value] of Object.entries(process.memoryUsage())) {
    snapshot[`process.${name}`] = value;
  }
  return snapshot;
}

/**
 * Reads the figures a number of times without a GC and throws the readings away. The first calls
 * of the reading code compile it and fill its inline caches, in V8's old space (measured: ~77 KiB
 * on the first pair of snapshots, nothing after 50 warm-up readings, even on a loaded machine);
 * that cost must not land between the snapshots that measure a block, nor only some of the time
 * in the noise.
 */
export function warmUpSnapshots(readings = 50): void {
  for (let index = 0; index < readings; index += 1) takeHeapSnapshot();
}

/** The figures that say a heap has settled: what each space holds and how big V8 made it. */
const SETTLING_FIELD = /^space\..*\.(used|size)$/;

/** Full collections at most before a snapshot is taken as it stands. */
export const SETTLE_ROUNDS = 8;

/**
 * A snapshot after the heap has settled (with gc), else as it stands. One full GC does not end
 * V8's work: under load, concurrent sweeping and compilation jobs finish after it (and allocate,
 * or free), and V8 resizes a space over the next collections; snapshots taken then moved
 * heap.used_heap_size or old_space's size around an empty block (seen 2 times in 12 runs on a busy
 * machine). So collections repeat until two snapshots in a row agree on every space's used and
 * size figures, or SETTLE_ROUNDS have run.
 */
export function settledSnapshot(gc: boolean): HeapSnapshot {
  if (!gc || !collectGarbage()) return takeHeapSnapshot();
  let previous = takeHeapSnapshot();
  for (let round = 1; round < SETTLE_ROUNDS; round += 1) {
    collectGarbage();
    const current = takeHeapSnapshot();
    if (sameSettlingFigures(previous, current)) return current;
    previous = current;
  }
  return previous;
}

function sameSettlingFigures(a: HeapSnapshot, b: HeapSnapshot): boolean {
  return Object.keys(b).every((name) => !SETTLING_FIELD.test(name) || a[name] === b[name]);
}

let collect: (() => void) | null = null;

/**
 * A full garbage collection, so that garbage does not show as growth. Without --expose-gc the flag
 * is set at run time and gc() is taken from a fresh context: V8 installs it in contexts created
 * after the flag is set. Returns false if it could not be done.
 */
export function collectGarbage(): boolean {
  try {
    if (collect === null) {
      const global = (globalThis as { gc?: () => void }).gc;
      if (typeof global === 'function') collect = global;
      else {
        setFlagsFromString('--expose-gc');
        collect = runInNewContext('gc') as () => void;
      }
    }
    collect();
    return true;
  } catch {
    return false;
  }
}
