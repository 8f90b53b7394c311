// Finding where a binary's garbage collections can be probed, on real binaries: this machine's stock
// node 20 (V8's symbol in .symtab and .dynsym, no USDT notes), a stripped copy of it, the usdt-gc workload (Node's USDT probes, as a
// node built --with-dtrace has them) and a binary that is neither.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readElf } from '../../src/symbols/elf.js';
import { readUsdtProbes } from '../../src/symbols/usdt-notes.js';
import { findGcProbePoint, findNodeGcUsdt, findV8GcSymbol } from '../../src/symbols/v8-gc-symbol.js';
import { buildWorkload } from '../helpers/workloads.js';

const NODE = execFileSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).trim();
const MANGLED = '_ZN2v88internal4Heap24PerformGarbageCollectionENS0_16GarbageCollectorENS0_23GarbageCollectionReasonEPKc';

test(`node's own binary (${NODE}) has the V8 symbol, found by its demangled name, and no USDT probes`, async (t) => {
  const elf = await readElf(NODE);
  const symbol = await findV8GcSymbol(elf);
  t.is(symbol?.symbol, MANGLED);
  t.is(
    symbol?.demangled,
    'v8::internal::Heap::PerformGarbageCollection(v8::internal::GarbageCollector, v8::internal::GarbageCollectionReason, char const*)',
  );
  // Cross-checked against binutils: nm lists the same name at the same address.
  const nm = execFileSync('sh', ['-c', `nm ${NODE} | grep ' T ${MANGLED}$'`], { encoding: 'utf8' });
  t.is(BigInt(`0x${nm.split(' ')[0]}`), symbol!.address);
  t.is(await findNodeGcUsdt(elf), null);
  t.is((await findGcProbePoint(elf))?.kind, 'symbol');
});

test('without c++filt the mangled prefix still identifies the function, and says it was not demangled', async (t) => {
  const symbol = await findV8GcSymbol(await readElf(NODE), { demangler: '/nonexistent/c++filt' });
  t.is(symbol?.symbol, MANGLED);
  t.regex(symbol!.demangled, /^v8::internal::Heap::PerformGarbageCollection\(…\) \(not demangled: .*not found/);
});

test('a stripped copy of node keeps the symbol: node exports it in .dynsym for native addons', async (t) => {
  const stripped = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'node');
  execFileSync('strip', ['--strip-all', '-o', stripped, NODE]);
  const elf = await readElf(stripped);
  t.false(elf.sections.some((section) => section.name === '.symtab'));
  const symbol = await findV8GcSymbol(elf);
  t.is(symbol?.symbol, MANGLED);
  rmSync(stripped);
});

test('a binary that is not node has neither', async (t) => {
  const elf = await readElf('/bin/true');
  t.is(await findV8GcSymbol(elf), null);
  t.is(await findGcProbePoint(elf), null);
  t.deepEqual(await readUsdtProbes(elf), []);
});

test('the usdt-gc workload: both probes read from .note.stapsdt, as readelf -n lists them', async (t) => {
  const path = buildWorkload('usdt-gc');
  const elf = await readElf(path);
  const probes = await readUsdtProbes(elf);
  t.deepEqual(
    probes.map((probe) => `${probe.provider}:${probe.name}`),
    ['node:gc__start', 'node:gc__done'],
  );
  const readelf = execFileSync('readelf', ['-n', path], { encoding: 'utf8' });
  for (const probe of probes) {
    t.true(readelf.includes(`Location: 0x${probe.address.toString(16).padStart(16, '0')}`), readelf);
    t.is(probe.semaphore, 0n);
    t.regex(probe.args.join(' '), /^-4@%\w+ -4@%\w+ 8@%\w+$/);
  }
  t.is((await findGcProbePoint(elf))?.kind, 'usdt');
  // It has no V8 symbol: even preferring the symbol, the probes are what there is.
  t.is((await findGcProbePoint(elf, { preferSymbol: true }))?.kind, 'usdt');
});
