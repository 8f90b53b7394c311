import test from 'ava';
import { copyFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readElf } from '../../src/symbols/elf.js';
import { MappingHistory, readProcMaps, type Mapping } from '../../src/symbols/proc-maps.js';
import { PerfMap } from '../../src/symbols/perf-map.js';
import { findFunctionAt, Symbolizer, type ResolvedFrame } from '../../src/symbols/symbolizer.js';
import { compileFixture, makeTemporaryDirectory, startTarget, SYSTEM_LIBC, type RunningTarget } from './helpers.js';

const temporary = makeTemporaryDirectory('symbolizer');
test.after.always(temporary.cleanup);

const program = compileFixture('symbolize-target.c', join(temporary.dir, 'symbolize-target'));
const cppProgram = compileFixture('widget.cpp', join(temporary.dir, 'widget'));

/** Runs a workload, records its maps once, and stops it: the report-time situation. */
async function snapshotOf(path: string): Promise<{ target: RunningTarget; history: MappingHistory }> {
  const target = await startTarget(path);
  try {
    const history = new MappingHistory();
    history.add(await readProcMaps(target.pid));
    return { target, history };
  } finally {
    target.stop();
  }
}

const libcModule = basename(SYSTEM_LIBC);

/** The naming part of a resolved frame; code, afterCall and place are tested on their own below. */
function named(frame: ResolvedFrame | undefined): Pick<ResolvedFrame, 'name' | 'module' | 'resolved' | 'kind'> | undefined {
  if (frame === undefined) return undefined;
  return { name: frame.name, module: frame.module, resolved: frame.resolved, ...(frame.kind === undefined ? {} : { kind: frame.kind }) };
}

test('function addresses resolve to their names and modules (PIE program and libc)', async (t) => {
  const { target, history } = await snapshotOf(program);
  const alpha = target.addresses.get('alpha')!;
  const beta = target.addresses.get('beta')!;
  const atoi = target.addresses.get('atoi')!;
  const getpid = target.addresses.get('getpid')!;
  const symbolizer = new Symbolizer(history);
  const frames = await symbolizer.resolve([alpha, alpha + 2n, beta, atoi, getpid], { returnAddresses: false });
  t.deepEqual(Object.fromEntries([...frames].map(([a, f]) => [`0x${a.toString(16)}`, named(f)])), {
    [`0x${alpha.toString(16)}`]: { name: 'alpha_function', module: 'symbolize-target', resolved: true },
    [`0x${(alpha + 2n).toString(16)}`]: { name: 'alpha_function', module: 'symbolize-target', resolved: true },
    [`0x${beta.toString(16)}`]: { name: 'beta_function', module: 'symbolize-target', resolved: true },
    [`0x${atoi.toString(16)}`]: { name: 'atoi', module: libcModule, resolved: true },
    // libc exports getpid as a WEAK alias of the GLOBAL __getpid: global wins the address.
    [`0x${getpid.toString(16)}`]: { name: '__getpid', module: libcModule, resolved: true },
  });
  t.is(symbolizer.problems.unreadableFiles.size, 0);
});

test('a return address is looked up one byte earlier: the noreturn call at the end of a function', async (t) => {
  const { target, history } = await snapshotOf(program);
  const returnAddress = target.addresses.get('return')!;
  // The workload is laid out so the return address is exactly the first byte of the next function.
  t.is(target.addresses.get('right_after'), returnAddress);
  const symbolizer = new Symbolizer(history);
  t.deepEqual(named((await symbolizer.resolve([returnAddress], { returnAddresses: true })).get(returnAddress)), {
    name: 'ends_with_call',
    module: 'symbolize-target',
    resolved: true,
  });
  t.deepEqual(named((await symbolizer.resolve([returnAddress], { returnAddresses: false })).get(returnAddress)), {
    name: 'right_after',
    module: 'symbolize-target',
    resolved: true,
  });
});

test('a C++ method is demangled', async (t) => {
  const { target, history } = await snapshotOf(cppProgram);
  const returnAddress = target.addresses.get('return')!;
  const frames = await new Symbolizer(history).resolve([returnAddress], { returnAddresses: true });
  t.deepEqual(named(frames.get(returnAddress)), { name: 'ns::Widget::grow(unsigned long)', module: 'widget', resolved: true });
});

test('demangling can be turned off, and a missing c++filt is reported', async (t) => {
  const { target, history } = await snapshotOf(cppProgram);
  const returnAddress = target.addresses.get('return')!;
  const raw = await new Symbolizer(history, { demangle: false }).resolve([returnAddress], { returnAddresses: true });
  t.is(raw.get(returnAddress)?.name, '_ZN2ns6Widget4growEm');
  const symbolizer = new Symbolizer(history, { demangleCommand: '/nonexistent/c++filt' });
  const missing = await symbolizer.resolve([returnAddress], { returnAddresses: true });
  t.is(missing.get(returnAddress)?.name, '_ZN2ns6Widget4growEm');
  t.true(symbolizer.problems.demanglerMissing);
});

test('displayPath renames the module (a private copy shown as the original)', async (t) => {
  const { target, history } = await snapshotOf(program);
  const atoi = target.addresses.get('atoi')!;
  const symbolizer = new Symbolizer(history, {
    displayPath: (path) => (path.endsWith('/libc.so.6') ? '/opt/original/libc-2.36.so' : path),
  });
  t.deepEqual(named((await symbolizer.resolve([atoi], { returnAddresses: false })).get(atoi)), {
    name: 'atoi',
    module: 'libc-2.36.so',
    resolved: true,
  });
});

test('unmapped and anonymous addresses stay hex, pseudo-files are named by offset; none of them is code', async (t) => {
  const history = new MappingHistory();
  const base: Omit<Mapping, 'start' | 'end' | 'path'> = { offset: 0n, perms: 'rw-p', dev: '00:00', inode: 0, deleted: false };
  history.add([
    { ...base, start: 0x10000n, end: 0x20000n, path: '' },
    { ...base, start: 0x30000n, end: 0x31000n, path: '[vdso]' },
  ]);
  const symbolizer = new Symbolizer(history);
  const frames = await symbolizer.resolve([0x10010n, 0x30010n, 0x50000n], { returnAddresses: true });
  t.deepEqual(Object.fromEntries(frames), {
    '65552': { name: '0x10010', module: null, resolved: false, code: false },
    '196624': { name: '[vdso]+0x10', module: '[vdso]', resolved: false, code: false },
    '327680': { name: '0x50000', module: null, resolved: false, code: false },
  });
  t.is(symbolizer.problems.addressesOutsideMappings, 1);
  t.is(symbolizer.problems.addressesInUnreadableFiles, 0);
});

test('a binary deleted after its maps were read resolves to hex without throwing, and is counted', async (t) => {
  const copy = join(temporary.dir, 'short-lived');
  copyFileSync(program, copy);
  const { target, history } = await snapshotOf(copy);
  rmSync(copy);
  const alpha = target.addresses.get('alpha')!;
  const atoi = target.addresses.get('atoi')!;
  const symbolizer = new Symbolizer(history);
  const frames = await symbolizer.resolve([alpha, alpha + 1n, atoi], { returnAddresses: false });
  t.deepEqual(frames.get(alpha), { name: `0x${alpha.toString(16)}`, module: 'short-lived', resolved: false, code: true });
  t.is(frames.get(atoi)?.name, 'atoi');
  t.is(symbolizer.problems.addressesInUnreadableFiles, 2);
  t.deepEqual([...symbolizer.problems.unreadableFiles.keys()], [copy]);
  t.regex(symbolizer.problems.unreadableFiles.get(copy)!, /cannot open: ENOENT/);
});

test('a mapping marked (deleted) is not trusted even if a file exists at its path', async (t) => {
  const { target, history } = await snapshotOf(program);
  const mapped = history.all().map((m) => (m.path === program ? { ...m, deleted: true } : m));
  const replaced = new MappingHistory();
  replaced.add(mapped);
  const alpha = target.addresses.get('alpha')!;
  const symbolizer = new Symbolizer(replaced);
  t.deepEqual((await symbolizer.resolve([alpha], { returnAddresses: false })).get(alpha), {
    name: `0x${alpha.toString(16)}`,
    module: 'symbolize-target',
    resolved: false,
    code: true,
  });
  t.is(symbolizer.problems.addressesInUnreadableFiles, 1);
});

test('findFunctionAt: sized symbols end at their size; size-0 symbols end with their section', async (t) => {
  const elf = await readElf(program);
  const alpha = elf.findFunction('alpha_function')!;
  t.is(findFunctionAt(elf, alpha.address + alpha.size - 1n)?.name, 'alpha_function');
  t.not(findFunctionAt(elf, alpha.address + alpha.size)?.name, 'alpha_function');
  t.is(findFunctionAt(elf, 0n), undefined);
  // A synthetic table: one sized symbol, one size-0 symbol in section 1 (0x100..0x200).
  const synthetic = {
    ...elf,
    functions: [
      { name: 'sized', address: 0x100n, size: 0x10n, sectionIndex: 1 },
      { name: 'unsized', address: 0x180n, size: 0n, sectionIndex: 1 },
    ],
    sections: [elf.sections[0]!, { ...elf.sections[1]!, addr: 0x100n, size: 0x100n }],
  };
  t.is(findFunctionAt(synthetic, 0x10fn)?.name, 'sized');
  t.is(findFunctionAt(synthetic, 0x110n), undefined);
  t.is(findFunctionAt(synthetic, 0x1ffn)?.name, 'unsized');
  t.is(findFunctionAt(synthetic, 0x200n), undefined);
});

test('addresses of JIT code (anonymous executable memory, or mapped after the last snapshot) are named from the perf map', async (t) => {
  const anonymous = (start: bigint, end: bigint, perms: string): Mapping => ({
    start,
    end,
    offset: 0n,
    perms,
    dev: '00:00',
    inode: 0,
    path: '',
    deleted: false,
  });
  const history = new MappingHistory();
  history.add([anonymous(0x7f0000000000n, 0x7f0000040000n, 'r-xp'), anonymous(0x7f0000100000n, 0x7f0000110000n, 'rw-p')]);
  const perfMap = new PerfMap();
  perfMap.push('7f0000001000 378 JS:~makeDistinctBuffers file:///srv/buffers.js:15:29');
  perfMap.push('7f0000200000 40 JS:*hot file:///srv/hot.js:3:1'); // beyond the recorded mappings
  const symbolizer = new Symbolizer(history, { perfMap });
  const frames = await symbolizer.resolve([0x7f0000001011n, 0x7f0000200010n, 0x7f0000030000n, 0x7f0000100010n], { returnAddresses: true });
  t.deepEqual(frames.get(0x7f0000001011n), {
    name: 'JS:~makeDistinctBuffers /srv/buffers.js:15',
    kind: 'js',
    module: null,
    resolved: true,
    code: true,
  });
  t.deepEqual(frames.get(0x7f0000200010n), { name: 'JS:*hot /srv/hot.js:3', kind: 'js', module: null, resolved: true, code: true });
  // In executable anonymous memory but in no perf-map entry: hex, counted as a JIT address unnamed;
  // still code (a JIT's), unlike the writable anonymous memory.
  t.deepEqual(frames.get(0x7f0000030000n), { name: '0x7f0000030000', module: null, resolved: false, code: true });
  t.deepEqual(frames.get(0x7f0000100010n), { name: '0x7f0000100010', module: null, resolved: false, code: false });
  t.is(symbolizer.problems.jitAddressesUnnamed, 1);
  t.is(symbolizer.problems.addressesOutsideMappings, 0);
});

test('a frame in a file is placed there: path, ELF address, mapping and build-id; a function start is not after a call', async (t) => {
  const { target, history } = await snapshotOf(program);
  const alpha = target.addresses.get('alpha')!;
  const elf = await readElf(program);
  const frames = await new Symbolizer(history).resolve([alpha], { returnAddresses: true });
  const frame = frames.get(alpha)!;
  const mapping = history.find(alpha - 1n)!;
  t.is(frame.code, true);
  // alpha_function's own first byte as a "return address": what precedes it is the previous
  // function's last instruction (a ret), not a call.
  t.is(frame.afterCall, false);
  t.deepEqual(frame.place, {
    path: program,
    vaddr: elf.findFunction('alpha_function')!.address,
    start: mapping.start,
    end: mapping.end,
    offset: mapping.offset,
    buildId: frame.place!.buildId,
  });
  t.regex(frame.place!.buildId!, /^[0-9a-f]{40}$/);
});

test('a return address in a stripped part of a file is named module+0xVADDR, after a call', async (t) => {
  const { target, history } = await snapshotOf(program);
  const returnAddress = target.addresses.get('return')!;
  const elf = await readElf(program);
  const stripped = { ...elf, functions: [] };
  const symbolizer = new Symbolizer(history);
  const frame = (await symbolizer.resolve([returnAddress], { returnAddresses: true })).get(returnAddress)!;
  t.is(frame.afterCall, true);
  // The same address, named as if the file had no symbols: the ELF address addr2line takes.
  const vaddr = elf.findFunction('right_after')!.address;
  t.is(frame.place!.vaddr, vaddr);
  t.is(findFunctionAt(stripped, vaddr), undefined);
});
