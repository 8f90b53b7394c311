// The heap walker against test/workloads/explain-heap.c, whose blocks are known to the byte: chunk
// sizes are malloc's (request + 8, rounded up to 16, at least 32), and every figure is asserted
// exactly but one, said where.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { type ArenaWalk, type ChunkTotals, type GlibcHeapWalk, walkGlibcHeap } from '../../src/sample/glibc-heap.js';
import { ProcessMemoryError } from '../../src/sample/process-memory.js';
import { locateGlibcMalloc, type GlibcMalloc } from '../../src/symbols/glibc-malloc.js';
import { readProcMaps } from '../../src/symbols/proc-maps.js';
import { file, needing } from '../helpers/needs.js';
import { buildWorkload } from '../helpers/workloads.js';
import { startTarget, type RunningTarget } from '../symbols/helpers.js';

const chunk = (request: number) => Math.max(32, (request + 8 + 15) & ~15);
const TCACHE_STRUCT = 0x290;
const MiB = 1024 * 1024;

const workload = buildWorkload('explain-heap');
const running: RunningTarget[] = [];
test.after.always(() => running.forEach((target) => target.stop()));

async function start(args: string[] = []): Promise<RunningTarget> {
  const target = await startTarget(workload, args);
  running.push(target);
  return target;
}

async function locate(pid: number): Promise<GlibcMalloc> {
  const found = await locateGlibcMalloc(pid);
  if (!found.ok) throw new Error(found.message);
  return found;
}

async function walk(pid: number, options: { withoutMp?: boolean } = {}): Promise<GlibcHeapWalk> {
  const maps = await readProcMaps(pid);
  const found = await locate(pid);
  return walkGlibcHeap(pid, { mainArena: found.mainArena, mp: options.withoutMp ? null : found.mp, maps });
}

/** Rss of each mapping of /proc/PID/smaps, by start address. */
function smapsRss(pid: number): Map<bigint, { end: bigint; rss: number }> {
  const rss = new Map<bigint, { end: bigint; rss: number }>();
  let current: { start: bigint; end: bigint } | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) current = { start: BigInt(`0x${range[1]}`), end: BigInt(`0x${range[2]}`) };
    const value = /^Rss:\s+(\d+) kB/.exec(line);
    if (value && current) rss.set(current.start, { end: current.end, rss: Number(value[1]) * 1024 });
  }
  return rss;
}

const CATEGORIES = ['inUse', 'free', 'top', 'fastbin', 'tcache', 'overhead'] as const;
const sum = (arena: ArenaWalk, key: keyof ChunkTotals) => CATEGORIES.reduce((total, category) => total + arena[category][key], 0);

/** Every figure non-negative, and a complete walk's categories adding up to its heaps, in bytes and in resident bytes. */
function assertSane(t: import('ava').ExecutionContext, result: GlibcHeapWalk): void {
  for (const arena of result.arenas) {
    for (const category of CATEGORIES) {
      for (const [key, value] of Object.entries(arena[category])) {
        t.true(Number.isInteger(value) && value >= 0, `${category}.${key} = ${value}`);
      }
      t.true(arena[category].residentBytes <= arena[category].bytes);
    }
    if (!result.complete) continue;
    t.is(
      sum(arena, 'bytes'),
      arena.heaps.reduce((total, heap) => total + Number(heap.end - heap.start), 0),
      'the categories tile the heaps',
    );
    t.is(
      sum(arena, 'residentBytes'),
      arena.heaps.reduce((total, heap) => total + heap.residentBytes, 0),
    );
    t.is(
      arena.heaps.reduce((total, heap) => total + heap.inUseResidentBytes, 0),
      arena.inUse.residentBytes,
      "the heaps' in-use resident bytes are the arena's",
    );
  }
  t.true(result.mmapped.chunks >= 0 && result.mmapped.residentBytes <= result.mmapped.bytes);
}

const withDebugFile = needing([file('/usr/lib/debug/.build-id', 'libc6-dbg')]);

withDebugFile(
  'explain-heap: three arenas, every kept and freed block where it was left, tcache and fastbins, the mmapped block',
  async (t) => {
    const target = await start();
    const result = await walk(target.pid);
    t.log(`walked in ${result.elapsedMs.toFixed(1)} ms`);
    t.true(result.complete, result.problem ?? '');
    t.is(result.attempts, 1);
    t.deepEqual(result.notes, []);
    assertSane(t, result);
    t.is(result.arenas.length, 3);

    const [main, ...threads] = result.arenas;
    t.true(main!.main);
    // The main thread: 2000 kept and 2000 freed blocks of 4000, the tcache struct, one kept 24-byte
    // block, and the two new threads' DTVs, which pthread_create callocs in the main thread and which
    // malloc carves out of one freed block: so in use + free is exact, and in use holds 2 chunks more.
    t.is(main!.inUse.chunks, 2000 + 1 + 1 + 2);
    t.is(main!.free.chunks, 2000);
    t.is(main!.inUse.bytes + main!.free.bytes, 2 * 2000 * chunk(4000) + TCACHE_STRUCT + chunk(24));
    t.true(main!.inUse.bytes - (2000 * chunk(4000) + TCACHE_STRUCT + chunk(24)) <= 1024, 'two DTVs of a few hundred bytes');
    t.deepEqual(
      main!.fastbin,
      { chunks: 3, bytes: 3 * chunk(24), residentBytes: 3 * chunk(24) },
      '10 freed: 7 fill tcache bin 0, 3 go to the fastbin',
    );
    t.deepEqual(main!.tcache, { chunks: 7 + 5, bytes: 7 * chunk(24) + 5 * chunk(200), residentBytes: 7 * chunk(24) + 5 * chunk(200) });
    t.is(main!.top.chunks, 1);
    t.is(main!.overhead.bytes, 0, 'the brk heap starts page-aligned: its first chunk is at its start');

    // Each thread: 500 kept and 500 freed blocks of 8000 and its tcache struct; the second also 5 freed
    // 40-byte blocks (its tcache) and one kept, all carved out of a freed block.
    const withSmall = threads.find((arena) => arena.tcache.chunks > 0)!;
    const without = threads.find((arena) => arena !== withSmall)!;
    t.deepEqual(withSmall.tcache, { chunks: 5, bytes: 5 * chunk(40), residentBytes: 5 * chunk(40) });
    t.is(withSmall.inUse.bytes, 500 * chunk(8000) + TCACHE_STRUCT + chunk(40));
    t.is(withSmall.free.bytes, 500 * chunk(8000) - 6 * chunk(40));
    t.is(withSmall.free.chunks, 500);
    t.deepEqual(without.inUse, { chunks: 501, bytes: 500 * chunk(8000) + TCACHE_STRUCT, residentBytes: 500 * chunk(8000) + TCACHE_STRUCT });
    t.deepEqual(without.free, { chunks: 500, bytes: 500 * chunk(8000), residentBytes: 500 * chunk(8000) });
    for (const arena of threads) {
      t.false(arena.main);
      t.is(arena.heaps.length, 1);
      t.is(arena.heaps[0]!.start + 48n, arena.address, 'the arena struct follows the heap_info');
      t.is(arena.overhead.bytes, 48 + 2200 + 8, 'heap_info, malloc_state, and 8 bytes to align the first chunk');
      t.deepEqual(arena.fastbin, { chunks: 0, bytes: 0, residentBytes: 0 });
      t.is(arena.inUse.residentBytes, arena.inUse.bytes, 'every block was written');
      t.is(arena.free.residentBytes, arena.free.bytes);
    }
    t.is(main!.inUse.residentBytes, main!.inUse.bytes);
    t.is(main!.free.residentBytes, main!.free.bytes);

    // glibc rounds an mmapped chunk (8 MiB + its 8-byte header) up to pages.
    const { ranges, ...mmapped } = result.mmapped;
    t.deepEqual(mmapped, {
      chunks: 1,
      bytes: 8 * MiB + 4096,
      residentBytes: 8 * MiB + 4096,
      glibc: { chunks: 1, bytes: 8 * MiB + 4096 },
    });
    t.is(ranges.length, 1);
    t.is(Number(ranges[0]!.end - ranges[0]!.start), 8 * MiB + 4096);
    t.is(ranges[0]!.residentBytes, 8 * MiB + 4096);
    t.deepEqual(result.tcache, { status: 'walked', perThreadStructs: 3, countLimit: 7 });

    // Resident bytes as the kernel counts them: each heap ends where its mapping does, with its Rss.
    const rss = smapsRss(target.pid);
    for (const arena of result.arenas) {
      for (const heap of arena.heaps) {
        const mapping = rss.get(heap.start);
        t.truthy(mapping, `a mapping starts at the heap's start 0x${heap.start.toString(16)}`);
        t.is(mapping!.end, heap.end);
        t.is(heap.residentBytes, mapping!.rss);
      }
    }
  },
);

withDebugFile('a thread arena past 64 MiB: its newest heap, then the older one it links, ended by fenceposts', async (t) => {
  const target = await start(['heaps']);
  const result = await walk(target.pid);
  t.true(result.complete, result.problem ?? '');
  assertSane(t, result);
  const arena = result.arenas.find((candidate) => !candidate.main)!;
  t.is(arena.heaps.length, 2);
  const [newest, oldest] = arena.heaps;
  t.is(oldest!.start + 48n, arena.address, 'the arena struct is in its first heap');
  t.is(oldest!.end - oldest!.start, BigInt(64 * MiB), 'the first heap grew to HEAP_MAX_SIZE');
  t.is(newest!.start % BigInt(64 * MiB), 0n, 'a heap is HEAP_MAX_SIZE-aligned');
  // 12000 kept blocks and the thread's tcache struct; the old heap's top, freed when the arena moved
  // on, is the one free chunk; overhead: both heap_infos, the arena struct, alignment and the fenceposts.
  t.deepEqual(arena.inUse, {
    chunks: 12001,
    bytes: 12000 * chunk(8000) + TCACHE_STRUCT,
    residentBytes: 12000 * chunk(8000) + TCACHE_STRUCT,
  });
  t.is(arena.free.chunks, 1);
  t.true(arena.overhead.bytes > 48 + 2200 + 48 && arena.overhead.bytes < 48 + 2200 + 48 + 64);
  const rss = smapsRss(target.pid);
  for (const heap of arena.heaps) {
    t.is(rss.get(heap.start)?.end, heap.end);
    t.is(rss.get(heap.start)?.rss, heap.residentBytes);
  }
});

withDebugFile('without mp_, the brk heap is found from the [heap] mapping and the figures are the same', async (t) => {
  const target = await start();
  const [withMp, withoutMp] = [await walk(target.pid), await walk(target.pid, { withoutMp: true })];
  t.true(withoutMp.complete, withoutMp.problem ?? '');
  t.deepEqual(withoutMp.arenas, withMp.arenas);
  t.is(withoutMp.mmapped.glibc, null);
  t.is(withoutMp.tcache.countLimit, 7);
  t.regex(withoutMp.notes.join('\n'), /mp_ not given/);
});

withDebugFile(
  'a process that churns malloc and free in three threads while it is walked 25 times: complete, or partial with a reason, never an exception or a negative',
  async (t) => {
    const target = await start(['churn']);
    let complete = 0;
    let attempts = 0;
    for (let i = 0; i < 25; i++) {
      const result = await walk(target.pid);
      assertSane(t, result);
      t.true(result.attempts >= 1 && result.attempts <= 5);
      if (result.complete) complete++;
      else t.regex(result.problem ?? '', /\S/, 'a partial walk says why');
      attempts += result.attempts;
    }
    t.log(`${complete} of 25 walks complete, ${attempts} attempts in all`);

    // Stopped, it stands still, but a thread may have stopped inside malloc with the arena
    // half-updated (a stop lands when a thread leaves the kernel: often right after malloc's own brk,
    // mmap or mprotect, before it sets the new top's size; about half the stops here). So: stop until
    // three walks are complete, and those agree with glibc's mmap counters.
    let stoppedComplete = 0;
    let stops = 0;
    for (; stops < 30 && stoppedComplete < 3; stops++) {
      process.kill(target.pid, 'SIGSTOP');
      while (!/^\S+ \(.*\) T /s.test(readFileSync(`/proc/${target.pid}/stat`, 'latin1')))
        await new Promise((resolve) => setTimeout(resolve, 5));
      const maps = await readProcMaps(target.pid);
      const found = await locate(target.pid);
      const result = await walkGlibcHeap(target.pid, { mainArena: found.mainArena, mp: found.mp, maps }, { maxAttempts: 1 });
      process.kill(target.pid, 'SIGCONT');
      assertSane(t, result);
      if (!result.complete) {
        t.log(`stopped, partial: ${result.problem}`);
        continue;
      }
      stoppedComplete++;
      // A stop right after malloc's brk, before it grows the top chunk: the heap is whole, the new
      // pages not yet any chunk's, and the walk says so; nothing else may be noted.
      t.deepEqual(
        result.notes.filter((note) => !/^the brk heap's top ends at 0x[0-9a-f]+, below its mapping's end/.test(note)),
        [],
      );
      t.deepEqual(result.mmapped.glibc, { chunks: result.mmapped.chunks, bytes: result.mmapped.bytes });
      t.is(result.tcache.perThreadStructs, 3);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.true(stoppedComplete >= 1, `${stoppedComplete} of ${stops} walks of the stopped process complete`);
    t.log(`${stoppedComplete} of ${stops} walks of the stopped process complete`);
  },
);

withDebugFile('a process that has exited cannot be walked: ProcessMemoryError, reason exited', async (t) => {
  const target = await start();
  const found = await locate(target.pid);
  const maps = await readProcMaps(target.pid);
  target.stop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const error = await t.throwsAsync(walkGlibcHeap(target.pid, { mainArena: found.mainArena, mp: found.mp, maps }), {
    instanceOf: ProcessMemoryError,
  });
  t.is(error?.reason, 'exited');
});

test('a PID that does not exist: ProcessMemoryError, reason exited', async (t) => {
  const error = await t.throwsAsync(walkGlibcHeap(4_194_304 + 1, { mainArena: 0x1000n, maps: [] }), { instanceOf: ProcessMemoryError });
  t.is(error?.reason, 'exited');
  t.regex(error?.message ?? '', /does not exist/);
});
