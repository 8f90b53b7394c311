import test from 'ava';
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EM_X86_64, ElfError, PF_R, PF_W, PF_X, readElf, type ElfFile } from '../../src/symbols/elf.js';
import { compileFixture, makeTemporaryDirectory, nmFunctions, readelfLoadSegments, SYSTEM_LIBC } from './helpers.js';

const temporary = makeTemporaryDirectory('elf');
test.after.always(temporary.cleanup);
const pieProgram = compileFixture('symbolize-target.c', join(temporary.dir, 'pie'));
const nonPieProgram = compileFixture('symbolize-target.c', join(temporary.dir, 'non-pie'), ['-no-pie']);

/** Every function address nm knows is in our table under one of nm's names for it, and nothing else is. */
function assertSameFunctionsAsNm(t: import('ava').ExecutionContext, elf: ElfFile, fromNm: Map<bigint, string[]>): void {
  const ours = new Map(elf.functions.map((f) => [f.address, f.name]));
  const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  t.deepEqual([...ours.keys()].sort(byValue), [...fromNm.keys()].sort(byValue));
  const misnamed = [...ours].filter(([address, name]) => !fromNm.get(address)?.includes(name));
  t.deepEqual(misnamed, []);
}

function flagLetters(flags: number): string {
  return `${flags & PF_R ? 'R' : ''}${flags & PF_W ? 'W' : ''}${flags & PF_X ? 'E' : ''}`;
}

test('a compiled PIE program: functions match nm, segments match readelf', async (t) => {
  const elf = await readElf(pieProgram);
  t.is(elf.kind, 'dyn');
  t.is(elf.machine, EM_X86_64);
  assertSameFunctionsAsNm(t, elf, nmFunctions(pieProgram, false));
  t.deepEqual(
    elf.segments.map((s) => ({ offset: s.offset, vaddr: s.vaddr, filesz: s.filesz, memsz: s.memsz, flags: flagLetters(s.flags) })),
    readelfLoadSegments(pieProgram),
  );
  // A static function is a LOCAL symbol of .symtab only.
  const beta = elf.findFunction('beta_function');
  const nmBeta = execFileSync('nm', ['-S', pieProgram], { encoding: 'utf8' }).match(/^([0-9a-f]+) ([0-9a-f]+) t beta_function$/m);
  t.truthy(nmBeta);
  t.deepEqual(beta && { address: beta.address, size: beta.size }, { address: BigInt(`0x${nmBeta![1]}`), size: BigInt(`0x${nmBeta![2]}`) });
  // Functions are sorted by address, one per address.
  t.true(elf.functions.every((f, i) => i === 0 || elf.functions[i - 1]!.address < f.address));
});

test('a non-PIE program: kind exec, file offsets and addresses translate through PT_LOAD', async (t) => {
  const elf = await readElf(nonPieProgram);
  t.is(elf.kind, 'exec');
  const text = readelfLoadSegments(nonPieProgram).find((s) => s.flags === 'RE')!;
  t.true(text.vaddr >= 0x400000n);
  t.is(elf.fileOffsetToVaddr(text.offset + 0x10n), text.vaddr + 0x10n);
  t.is(elf.vaddrToFileOffset(text.vaddr + 0x10n), text.offset + 0x10n);
  // The page padding after .text is mapped but is not file content of any segment.
  const nextOffset = elf.segments
    .map((s) => s.offset)
    .filter((o) => o > text.offset)
    .reduce((a, b) => (a < b ? a : b));
  t.true(nextOffset > text.offset + text.filesz);
  t.is(elf.fileOffsetToVaddr(text.offset + text.filesz), undefined);
  t.is(elf.vaddrToFileOffset(0x10n), undefined);
  assertSameFunctionsAsNm(t, elf, nmFunctions(nonPieProgram, false));
});

test('libc.so.6 (.dynsym only): functions match nm -D, versions and aliases resolve', async (t) => {
  const elf = await readElf(SYSTEM_LIBC);
  t.is(elf.kind, 'dyn');
  t.false(elf.sections.some((s) => s.name === '.symtab'));
  assertSameFunctionsAsNm(t, elf, nmFunctions(SYSTEM_LIBC, true));

  const symbols = execFileSync('nm', ['-D', '-S', '--defined-only', SYSTEM_LIBC], { encoding: 'utf8' });
  const nmSymbol = (pattern: RegExp) => {
    const match = symbols.match(pattern)!;
    return { address: BigInt(`0x${match[1]}`), size: BigInt(`0x${match[2]}`) };
  };
  const free = nmSymbol(/^([0-9a-f]+) ([0-9a-f]+) T free@@GLIBC_2\.2\.5$/m);
  t.deepEqual(elf.findFunction('free'), {
    name: 'free',
    address: free.address,
    size: free.size,
    sectionIndex: elf.sectionAt(free.address)!.index,
  });
  // free, __libc_free and cfree share an address: the table shows the public name.
  t.is(elf.functions.find((f) => f.address === free.address)?.name, 'free');
  t.is(elf.findFunction('__libc_free')?.address, free.address);
  // memcpy has two versions; the name means the default one (@@), an IFUNC.
  t.is(elf.findFunction('memcpy')?.address, nmSymbol(/^([0-9a-f]+) ([0-9a-f]+) i memcpy@@GLIBC_2\.14$/m).address);
  t.is(elf.sectionAt(free.address)?.name, '.text');
});

test('readAtVaddr reads the bytes at a virtual address', async (t) => {
  const elf = await readElf(SYSTEM_LIBC);
  const free = elf.findFunction('free')!;
  const offset = Number(elf.vaddrToFileOffset(free.address));
  const expected = Buffer.alloc(16);
  const fd = openSync(SYSTEM_LIBC, 'r');
  readSync(fd, expected, 0, 16, offset);
  closeSync(fd);
  t.deepEqual(await elf.readAtVaddr(free.address, 16), expected);
  await t.throwsAsync(elf.readAtVaddr(0x7fff_0000_0000n, 4), { instanceOf: ElfError, message: /no file-backed PT_LOAD segment/ });
});

test('a text file is not ELF', async (t) => {
  const path = join(temporary.dir, 'notes.txt');
  writeFileSync(path, 'just some text, long enough to have a header-sized prefix.........\n');
  const error = await t.throwsAsync(readElf(path), { instanceOf: ElfError });
  t.is(error!.path, path);
  t.is(error!.message, `${path}: not an ELF file (no \\x7fELF magic)`);
});

test('a truncated copy is reported as truncated', async (t) => {
  const whole = readFileSync(pieProgram);
  const headersOnly = join(temporary.dir, 'truncated-4k');
  writeFileSync(headersOnly, whole.subarray(0, 4096));
  await t.throwsAsync(readElf(headersOnly), {
    instanceOf: ElfError,
    message: /: truncated: PT_LOAD segment \d+ ends at byte \d+ but the file has 4096$/,
  });
  const tiny = join(temporary.dir, 'truncated-40');
  writeFileSync(tiny, whole.subarray(0, 40));
  await t.throwsAsync(readElf(tiny), {
    instanceOf: ElfError,
    message: /: truncated: the ELF header needs bytes 0\.\.64 but the file has 40$/,
  });
  // Cut in the middle of the section header table, the last thing in the file.
  const noTail = join(temporary.dir, 'truncated-tail');
  writeFileSync(noTail, whole.subarray(0, whole.length - 100));
  await t.throwsAsync(readElf(noTail), { instanceOf: ElfError, message: /: truncated: the section header table needs bytes/ });
});

test('a 32-bit or big-endian file is refused by name', async (t) => {
  const whole = readFileSync(pieProgram);
  const elf32 = join(temporary.dir, 'elf32');
  writeFileSync(elf32, Buffer.concat([whole.subarray(0, 4), Buffer.from([1]), whole.subarray(5)]));
  await t.throwsAsync(readElf(elf32), { instanceOf: ElfError, message: `${elf32}: is a 32-bit ELF file; only ELF64 is supported` });
  const bigEndian = join(temporary.dir, 'big-endian');
  writeFileSync(bigEndian, Buffer.concat([whole.subarray(0, 5), Buffer.from([2]), whole.subarray(6)]));
  await t.throwsAsync(readElf(bigEndian), { instanceOf: ElfError, message: /is a big-endian ELF file/ });
});

test('a missing file is an ElfError with the cause kept', async (t) => {
  const path = join(temporary.dir, 'does-not-exist.so');
  const error = await t.throwsAsync(readElf(path), { instanceOf: ElfError });
  t.regex(error!.message, /: cannot open: ENOENT/);
  t.is((error!.cause as NodeJS.ErrnoException).code, 'ENOENT');
});

test('readAtVaddr notices the file was replaced after it was read', async (t) => {
  const path = join(temporary.dir, 'replaced');
  writeFileSync(path, readFileSync(pieProgram));
  const elf = await readElf(path);
  writeFileSync(path, Buffer.concat([readFileSync(pieProgram), Buffer.alloc(16)]));
  const alpha = elf.findFunction('alpha_function')!;
  await t.throwsAsync(elf.readAtVaddr(alpha.address, 4), { instanceOf: ElfError, message: /changed since its headers were read/ });
});

// ---- data symbols (findObjects) -------------------------------------------------------------------

/** readelf's OBJECT symbols called `name` in `path`, as address and size, one per address. */
function readelfObjects(path: string, name: string): { address: bigint; size: bigint }[] {
  const found = new Map<bigint, bigint>();
  for (const line of execFileSync('readelf', ['-sW', path], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== 'OBJECT' || fields[6] === 'UND' || fields[7]?.replace(/@.*$/, '') !== name) continue;
    found.set(BigInt(`0x${fields[1]}`), BigInt(fields[2]!.startsWith('0x') ? fields[2]! : Number(fields[2])));
  }
  return [...found].map(([address, size]) => ({ address, size }));
}

test('data symbols: a static variable of .symtab and an exported one of .dynsym, as readelf lists them', async (t) => {
  const program = await readElf(pieProgram);
  const libc = await readElf(SYSTEM_LIBC);
  const exported = await libc.findObjects('_IO_2_1_stdout_');
  t.deepEqual(
    exported.map((o) => ({ address: o.address, size: o.size })),
    readelfObjects(SYSTEM_LIBC, '_IO_2_1_stdout_'),
  );
  t.is(exported[0]?.table, '.dynsym');
  t.deepEqual(await libc.findObjects('main_arena'), [], 'the stripped library has no .symtab, so no static variable');
  t.deepEqual(await libc.findObjects('malloc'), [], 'a function is no data symbol');
  t.deepEqual(await program.findObjects('no_such_variable'), []);
});

test('findObjects refuses a file that changed since it was read', async (t) => {
  const copy = join(temporary.dir, 'changing');
  writeFileSync(copy, readFileSync(pieProgram));
  const elf = await readElf(copy);
  writeFileSync(copy, Buffer.concat([readFileSync(pieProgram), Buffer.alloc(4096)]));
  await t.throwsAsync(elf.findObjects('anything'), { instanceOf: ElfError, message: /changed since/ });
});
