// The pymalloc arena scan against CPython's own account of its arenas: test/workloads/python/
// pymalloc-hold.py holds known blocks (128-byte blocks kept, 64-byte ones half freed, 256-byte ones
// all freed in arenas that stay), prints sys._debugmallocstats() and waits. The scan, from outside,
// must find the same arenas and pools, and the same bytes in use give or take what the script
// allocates after printing (its os.read: 48 bytes on 3.11).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { ProcessMemoryError } from '../../src/sample/process-memory.js';
import {
  pymallocLayout,
  readPoolHeader,
  readPymalloc,
  scanPymallocArenas,
  type PymallocLayout,
  type PymallocScan,
} from '../../src/sample/pymalloc-arenas.js';
import { cpythonOfMappings, cpythonOfPath } from '../../src/sample/python-runtime.js';
import { readProcMaps } from '../../src/symbols/proc-maps.js';
import { gated } from '../helpers/gate.js';
import { needing, PYTHON_NEED, DEBIAN_PYTHON } from '../helpers/needs.js';
import { ROOT } from '../helpers/workloads.js';

const WORKLOAD = `${ROOT}test/workloads/python/pymalloc-hold.py`;
const LAYOUT_311 = pymallocLayout({ major: 3, minor: 11 }) as PymallocLayout;
/** Bytes the script may allocate between printing its figures and being scanned (48 seen on 3.11). */
const AFTER_PRINT_TOLERANCE = 4096;

// ---- recognising a pool header ------------------------------------------------------------------

/** A pool_header as CPython writes it at `address`, with the fields given (the others those of a fresh 128-byte pool). */
function header(
  address: number,
  fields: Partial<
    Record<'count' | 'freeblock' | 'nextpool' | 'prevpool' | 'arenaindex' | 'szidx' | 'nextoffset' | 'maxnextoffset', number>
  >,
): Buffer {
  const szidx = fields.szidx ?? 7;
  const size = (szidx + 1) * 16;
  const values = {
    count: 1,
    freeblock: address + 48 + size,
    nextpool: 0x55550000a000,
    prevpool: 0x55550000a000,
    arenaindex: 3,
    szidx,
    nextoffset: 48 + 2 * size,
    maxnextoffset: 16384 - size,
    ...fields,
  };
  const buffer = Buffer.alloc(48);
  buffer.writeUInt32LE(values.count, 0);
  buffer.writeBigUInt64LE(BigInt(values.freeblock), 8);
  buffer.writeBigUInt64LE(BigInt(values.nextpool), 16);
  buffer.writeBigUInt64LE(BigInt(values.prevpool), 24);
  buffer.writeUInt32LE(values.arenaindex, 32);
  buffer.writeUInt32LE(values.szidx, 36);
  buffer.writeUInt32LE(values.nextoffset, 40);
  buffer.writeUInt32LE(values.maxnextoffset, 44);
  return buffer;
}

const POOL = 0x7f0000104000;
const verdict = (buffer: Buffer) => readPoolHeader(buffer, POOL, LAYOUT_311, 16, 2 ** 20);

test('a pool header: used, full and empty pools are recognised with their size class and count', (t) => {
  t.deepEqual(verdict(header(POOL, {})), { address: POOL, arenaIndex: 3, count: 1, blockBytes: 128, capacity: 127 });
  // Full: every block carved (nextoffset = maxnextoffset + size rounded to the last block) and in use, free list empty.
  t.like(verdict(header(POOL, { count: 127, freeblock: 0, nextoffset: 48 + 127 * 128 })), { count: 127, capacity: 127 });
  // Empty, last on its arena's free list (nextpool null), size class kept from its last use.
  t.like(verdict(header(POOL, { count: 0, nextpool: 0, szidx: 31, nextoffset: 48 + 31 * 512 })), {
    count: 0,
    blockBytes: 512,
    capacity: 31,
  });
});

test('a pool header: zero pages and other data are not pools; a torn or impossible header is inconsistent', (t) => {
  t.is(verdict(Buffer.alloc(48)), 'not-a-pool', 'a zero page');
  t.is(verdict(header(POOL, { maxnextoffset: 16384 - 100 })), 'not-a-pool', 'maxnextoffset names no size class');
  t.is(verdict(header(POOL, { szidx: 32, maxnextoffset: 16384 - 528 })), 'not-a-pool', 'beyond SMALL_REQUEST_THRESHOLD');
  t.is(verdict(header(POOL, { count: 3 })), 'inconsistent', 'more blocks in use than carved');
  t.is(verdict(header(POOL, { nextoffset: 48 + 2 * 128 + 8 })), 'inconsistent', 'nextoffset between blocks');
  t.is(verdict(header(POOL, { freeblock: POOL + 16384 })), 'inconsistent', 'free list outside the pool');
  t.is(verdict(header(POOL, { freeblock: 0 })), 'inconsistent', 'no free block, yet not full');
  t.is(verdict(header(POOL, { nextpool: 0 })), 'inconsistent', 'a used pool out of the usedpools ring');
  t.is(verdict(header(POOL, { prevpool: 2 ** 48 })), 'inconsistent', 'a pointer beyond user space');
  t.is(verdict(header(POOL, { arenaindex: 2 ** 20 })), 'inconsistent', 'arenaindex beyond the bound');
  const high = header(POOL, {});
  high.writeUInt32LE(1, 4);
  t.is(verdict(high), 'inconsistent', "the union's upper half, never written, is not zero");
});

// ---- the runtime and its layout -----------------------------------------------------------------

test('CPython is told by its executable or libpython, the version by the name', (t) => {
  t.like(cpythonOfPath('/usr/bin/python3.11'), { major: 3, minor: 11, abiFlags: '', kind: 'executable' });
  t.like(cpythonOfPath('/opt/py/lib/libpython3.12.so.1.0'), { major: 3, minor: 12, kind: 'library' });
  t.like(cpythonOfPath('/usr/local/bin/python3.13t'), { minor: 13, abiFlags: 't' });
  t.like(cpythonOfPath('/usr/bin/python3.11 (deleted)'), { minor: 11 });
  for (const path of [
    '/usr/bin/python3',
    '/usr/bin/python3.11-config',
    '/usr/lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so',
    '/usr/bin/node',
  ])
    t.is(cpythonOfPath(path), null, path);
  const mappings = [{ path: '/usr/bin/uwsgi' }, { path: '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0' }, { path: '' }];
  t.like(cpythonOfMappings(mappings), { minor: 11, kind: 'library' }, 'an embedded interpreter');
  t.is(cpythonOfMappings([{ path: '/usr/bin/sleep' }, { path: '[heap]' }]), null);
});

test('layout by version: 1 MiB arenas of 16 KiB pools since 3.10, 256 KiB of 4 KiB before; none for free-threaded builds', (t) => {
  t.like(pymallocLayout({ major: 3, minor: 10 }), { arenaBytes: 1 << 20, poolBytes: 1 << 14, alignments: [16] });
  t.like(pymallocLayout({ major: 3, minor: 9 }), { arenaBytes: 1 << 18, poolBytes: 1 << 12, alignments: [16] });
  t.like(pymallocLayout({ major: 3, minor: 7 }), { alignments: [16, 8] });
  t.regex(pymallocLayout({ major: 3, minor: 13, abiFlags: 't' }) as string, /mimalloc/);
  t.regex(pymallocLayout({ major: 2, minor: 7 }) as string, /3\.6 and later/);
});

// ---- live processes -----------------------------------------------------------------------------

/** CPython's own figures, from sys._debugmallocstats(). */
interface MallocStats {
  arenas: number;
  arenaBytes: number;
  poolBytes: number;
  usedPools: number;
  blocksInUse: Map<number, number>;
  allocatedBlockBytes: number;
  availableBlockBytes: number;
  unusedPools: number;
  alignmentLostBytes: number;
}

function parseMallocStats(text: string): MallocStats {
  const figure = (pattern: RegExp) => {
    const match = pattern.exec(text);
    if (match === null) throw new Error(`_debugmallocstats: no ${pattern} in:\n${text.slice(0, 2000)}`);
    return Number(match[1]!.replace(/,/g, ''));
  };
  const blocksInUse = new Map<number, number>();
  let usedPools = 0;
  for (const [, size, pools, inUse] of text.matchAll(/^ +\d+ +(\d+) +(\d+) +(\d+) +\d+$/gm)) {
    blocksInUse.set(Number(size), Number(inUse));
    usedPools += Number(pools);
  }
  return {
    arenas: figure(/^# arenas allocated current += +([\d,]+)$/m),
    arenaBytes: figure(/^[\d,]+ arenas \* (\d+) bytes\/arena/m),
    poolBytes: figure(/^[\d,]+ unused pools \* (\d+) bytes/m),
    usedPools,
    blocksInUse,
    allocatedBlockBytes: figure(/^# bytes in allocated blocks += +([\d,]+)$/m),
    availableBlockBytes: figure(/^# bytes in available blocks += +([\d,]+)$/m),
    unusedPools: figure(/^([\d,]+) unused pools/m),
    alignmentLostBytes: figure(/^# bytes lost to arena alignment += +([\d,]+)$/m),
  };
}

interface Held {
  child: ChildProcess;
  pid: number;
  stats: MallocStats;
  stop: () => Promise<void>;
}

/** Starts the workload under `python` and waits until it holds its blocks and has printed its figures. */
async function startWorkload(python: string, args: string[] = []): Promise<Held> {
  const child = spawn(python, [WORKLOAD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (/^ready \d+$/m.test(stdout) && stderr.includes('end of _debugmallocstats\n')) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`${python} ${WORKLOAD} exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    stats: parseMallocStats(stderr),
    stop: async () => {
      child.stdin!.end('\n');
      await exited;
    },
  };
}

async function scanOf(pid: number): Promise<PymallocScan> {
  const reading = await readPymalloc(pid, await readProcMaps(pid));
  if (reading.status !== 'scanned') throw new Error(`not scanned: ${JSON.stringify(reading)}`);
  return reading.scan;
}

/** The assertions every CPython version must pass against its own _debugmallocstats. */
function assertAgrees(t: import('ava').ExecutionContext, scan: PymallocScan, stats: MallocStats, python: string): void {
  const { totals } = scan;
  t.log(
    `${python}: ${totals.arenas} arenas (${totals.arenaBytes} B, ${totals.residentBytes} B resident), ${totals.usedPools} used pools, ` +
      `${totals.emptyPools} empty (${totals.emptyResidentBytes} B resident), ${totals.untouchedPools} untouched; ` +
      `${totals.usedBlockBytes} B in use vs ${stats.allocatedBlockBytes}; scanned ${scan.scannedBytes} B of address space, ` +
      `read ${scan.bytesRead.mem} B of headers and ${scan.bytesRead.pagemap} B of pagemap in ${scan.elapsedMs.toFixed(0)} ms`,
  );
  t.true(scan.complete);
  t.is(scan.layout.arenaBytes, stats.arenaBytes, 'the arena size CPython prints');
  t.is(scan.layout.poolBytes, stats.poolBytes, 'the pool size CPython prints');
  t.is(totals.arenas, stats.arenas, 'every arena, and no other');
  t.is(totals.usedPools, stats.usedPools, 'every used pool');
  // Each arena whose base is not pool-aligned loses one pool (CPython counts POOL_SIZE for it): the
  // bases inferred must be the real ones for the count to match.
  const unaligned = scan.arenas.filter((arena) => arena.start % BigInt(scan.layout.poolBytes) !== 0n).length;
  t.is(unaligned * scan.layout.poolBytes, stats.alignmentLostBytes, 'arenas whose base is not pool-aligned');
  t.true(scan.arenas.every((arena) => arena.baseCertain));
  t.true(
    scan.arenas.every((arena, i) => i === 0 || arena.start >= scan.arenas[i - 1]!.end),
    'arenas do not overlap',
  );
  // CPython's "unused pools" are its arenas' nfreepools: empty pools plus the pools never carved.
  t.is(totals.emptyPools + totals.untouchedPools, stats.unusedPools, 'empty and untouched pools');
  const drift = totals.usedBlockBytes - stats.allocatedBlockBytes;
  t.true(Math.abs(drift) <= AFTER_PRINT_TOLERANCE, `bytes in use: ${totals.usedBlockBytes} vs ${stats.allocatedBlockBytes}`);
  t.true(Math.abs(totals.freeBlockBytes - stats.availableBlockBytes) <= AFTER_PRINT_TOLERANCE, 'free blocks of used pools');
  // The workload's blocks: 200 000 of 128 bytes held, 50 000 of 64 bytes (half of 100 000).
  t.true(totals.usedBlocksBySize[128]! >= 200_000 && Math.abs(totals.usedBlocksBySize[128]! - stats.blocksInUse.get(128)!) <= 32);
  t.true(totals.usedBlocksBySize[64]! >= 50_000 && Math.abs(totals.usedBlocksBySize[64]! - stats.blocksInUse.get(64)!) <= 64);
  // 100 000 blocks of 256 bytes freed: 63 to a 16 KiB pool (3.10+) or 15 to a 4 KiB one, whole pools
  // kept empty and resident (a few of their blocks shared pools with other 256-byte objects).
  const perPool = Math.floor((scan.layout.poolBytes - 48) / 256);
  const freedPools = Math.floor(100_000 / perPool);
  t.true(totals.emptyPools >= freedPools - 2, `${totals.emptyPools} empty pools, expected about ${freedPools}`);
  t.true(totals.emptyResidentBytes >= (freedPools - 2) * scan.layout.poolBytes - 16 * 4096);
  t.true(totals.emptyResidentBytes + totals.usedBlockBytes <= totals.residentBytes);
  t.true(totals.residentBytes <= totals.arenaBytes);
  t.deepEqual(scan.notes, []);
}

needing([PYTHON_NEED])("Debian's python3.11: the scan finds the arenas, pools and bytes that _debugmallocstats reports", async (t) => {
  const held = await startWorkload(DEBIAN_PYTHON);
  try {
    const scan = await scanOf(held.pid);
    assertAgrees(t, scan, held.stats, DEBIAN_PYTHON);
    t.is(scan.inconsistentHeaders, 0);
  } finally {
    await held.stop();
  }
});

// pyenv's builds, where this machine has them: 3.6–3.9 (256 KiB arenas), 3.10–3.13 (1 MiB), a shared libpython among them.
const PYENV = '/root/.pyenv/versions';
for (const version of ['3.6.15', '3.7.16', '3.8.18', '3.9.18', '3.10.13', '3.11.7', '3.12.1', '3.13.0']) {
  const python = `${PYENV}/${version}/bin/python${version.replace(/\.\d+$/, '')}`;
  // CI has Debian's python3.11 only: pyenv's builds are this machine's extra, never required.
  const run = gated(existsSync(python) ? null : `${python} not installed (pyenv install ${version})`, { optional: true });
  run(`pyenv's CPython ${version}: the same agreement with its own _debugmallocstats`, async (t) => {
    const held = await startWorkload(python);
    try {
      assertAgrees(t, await scanOf(held.pid), held.stats, python);
    } finally {
      await held.stop();
    }
  });
}

needing([PYTHON_NEED])('a process whose pools change while they are scanned: no error, every arena, few torn headers', async (t) => {
  const held = await startWorkload(DEBIAN_PYTHON, ['--churn']);
  try {
    for (let round = 0; round < 3; round++) {
      const scan = await scanOf(held.pid);
      const pools = scan.totals.usedPools + scan.totals.emptyPools;
      t.log(
        `round ${round}: ${scan.totals.arenas} arenas, ${pools} pools (${scan.totals.usedPools} used), ${scan.inconsistentHeaders} torn headers, ${scan.elapsedMs.toFixed(0)} ms`,
      );
      t.true(scan.complete);
      // Replacing objects frees and makes pools; CPython's arenas at the print are a floor, give or take one freed.
      t.true(scan.totals.arenas >= held.stats.arenas - 1, `${scan.totals.arenas} arenas, ${held.stats.arenas} at the start`);
      t.true(scan.inconsistentHeaders <= pools / 100);
    }
  } finally {
    await held.stop();
  }
});

test.serial('a process that does not run CPython is "not CPython", and nothing is read', async (t) => {
  const child = spawn('sleep', ['30']);
  await new Promise((resolve) => child.once('spawn', resolve));
  try {
    const reading = await readPymalloc(child.pid!, await readProcMaps(child.pid!));
    t.is(reading.status, 'not-cpython');
  } finally {
    child.kill('SIGKILL');
  }
});

needing([PYTHON_NEED])('a process that exits mid-scan gives a ProcessMemoryError "exited", not a partial result', async (t) => {
  const held = await startWorkload(DEBIAN_PYTHON);
  const maps = await readProcMaps(held.pid);
  const exited = new Promise((resolve) => held.child.once('exit', resolve));
  let killed = false;
  const error = await t.throwsAsync(
    scanPymallocArenas(
      held.pid,
      { mappings: maps, version: { major: 3, minor: 11 } },
      {
        // Killed once the first mapping is scanned; the scan goes on reading the rest.
        onProgress: async () => {
          if (killed) return;
          killed = true;
          held.child.kill('SIGKILL');
          await exited;
        },
      },
    ),
    { instanceOf: ProcessMemoryError },
  );
  t.true(killed);
  t.is(error?.reason, 'exited');
});

test.serial('a PID that does not exist gives a ProcessMemoryError "exited"', async (t) => {
  const error = await t.throwsAsync(scanPymallocArenas(2 ** 22 + 17, { mappings: [], version: { major: 3, minor: 11 } }), {
    instanceOf: ProcessMemoryError,
  });
  t.is(error?.reason, 'exited');
});

needing([PYTHON_NEED])('limits: a scan stopped by its read budget says so and is partial', async (t) => {
  const held = await startWorkload(DEBIAN_PYTHON);
  try {
    const scan = await scanPymallocArenas(
      held.pid,
      { mappings: await readProcMaps(held.pid), version: { major: 3, minor: 11 } },
      { maxReadBytes: 48 * 64 },
    );
    t.false(scan.complete);
    t.true(scan.bytesRead.mem <= 48 * 64 * 2, 'stops within one batch past the budget');
    t.true(scan.totals.arenas < held.stats.arenas);
    t.regex(scan.notes.join('\n'), /limits were reached/);
  } finally {
    await held.stop();
  }
});
