// SystemTap SDT notes, parsed from bytes laid out as <sys/sdt.h> writes them, and read from real
// binaries (more in v8-gc-symbol.test.ts, against readelf -n).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, type ElfFile } from '../../src/symbols/elf.js';
import { parseStapsdtNotes, readUsdtProbes } from '../../src/symbols/usdt-notes.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';

/** One stapsdt note as the linker lays it out. */
function note(provider: string, name: string, args: string, semaphore: bigint): Buffer {
  const owner = Buffer.from('stapsdt\u0000');
  const desc = Buffer.concat([Buffer.alloc(24), Buffer.from(`${provider}\u0000${name}\u0000${args}\u0000`)]);
  desc.writeBigUInt64LE(0x4f20a1n, 0);
  desc.writeBigUInt64LE(0x8cc5a0n, 8);
  desc.writeBigUInt64LE(semaphore, 16);
  const header = Buffer.alloc(12);
  header.writeUInt32LE(owner.length, 0);
  header.writeUInt32LE(desc.length, 4);
  header.writeUInt32LE(3, 8);
  const pad = (buffer: Buffer) => Buffer.concat([buffer, Buffer.alloc((4 - (buffer.length % 4)) % 4)]);
  return Buffer.concat([header, pad(owner), pad(desc)]);
}

test('parses stapsdt notes: provider, name, semaphore, arguments', (t) => {
  const bytes = Buffer.concat([
    note('python', 'function__entry', '8@%rbp 8@%r12 -4@%eax', 0xa84260n),
    note('libc', 'memory_sbrk_more', '8@%rax', 0n),
  ]);
  t.deepEqual(parseStapsdtNotes(bytes, 'x'), [
    { provider: 'python', name: 'function__entry', address: 0x4f20a1n, semaphore: 0xa84260n, args: ['8@%rbp', '8@%r12', '-4@%eax'] },
    { provider: 'libc', name: 'memory_sbrk_more', address: 0x4f20a1n, semaphore: 0n, args: ['8@%rax'] },
  ]);
});

test('a note running past its section is an ElfError', (t) => {
  const bytes = note('python', 'line', '', 1n).subarray(0, 30);
  t.throws(() => parseStapsdtNotes(bytes, 'x.so'), { instanceOf: ElfError, message: /runs past the section/ });
});

test('a stapsdt note is read; notes of other owners, and (lenient) a note cut short, are skipped', (t) => {
  const note = (owner: string, type: number, desc: Buffer) => {
    const name = Buffer.from(`${owner}\0`);
    const header = Buffer.alloc(12);
    header.writeUInt32LE(name.length, 0);
    header.writeUInt32LE(desc.length, 4);
    header.writeUInt32LE(type, 8);
    const pad = (buffer: Buffer) => Buffer.concat([buffer, Buffer.alloc((4 - (buffer.length % 4)) % 4)]);
    return Buffer.concat([header, pad(name), pad(desc)]);
  };
  const desc = Buffer.concat([Buffer.alloc(24), Buffer.from('node\0gc__start\0-4@%edi\0')]);
  desc.writeBigUInt64LE(0x1234n, 0);
  const gnu = note('GNU', 3, Buffer.alloc(20));
  const sdt = note('stapsdt', 3, desc);
  t.deepEqual(parseStapsdtNotes(Buffer.concat([gnu, sdt]), 'x'), [
    { provider: 'node', name: 'gc__start', args: ['-4@%edi'], address: 0x1234n, semaphore: 0n },
  ]);
  t.deepEqual(parseStapsdtNotes(Buffer.concat([gnu, sdt.subarray(0, sdt.length - 8)]), 'x', { lenient: true }), []);
});

test('a truncated note table: strict names the note, lenient keeps the notes before it', (t) => {
  const whole = note('python', 'function__entry', '8@%rbp', 0n);
  const bytes = Buffer.concat([whole, note('python', 'line', '', 1n).subarray(0, 30)]);
  t.throws(() => parseStapsdtNotes(bytes, 'x.so'), {
    instanceOf: ElfError,
    message: `x.so: .note.stapsdt: a note at offset ${whole.length} runs past the section`,
  });
  t.deepEqual(
    parseStapsdtNotes(bytes, 'x.so', { lenient: true }).map((probe) => probe.name),
    ['function__entry'],
  );
});

test('a stapsdt note too short for a probe: an ElfError, skipped when lenient', (t) => {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(8, 0);
  header.writeUInt32LE(24, 4);
  header.writeUInt32LE(3, 8);
  const bytes = Buffer.concat([header, Buffer.from('stapsdt\u0000'), Buffer.alloc(24), note('libc', 'memory_sbrk_more', '8@%rax', 0n)]);
  t.throws(() => parseStapsdtNotes(bytes, 'x.so'), {
    instanceOf: ElfError,
    message: 'x.so: .note.stapsdt: the note at offset 0 is too short for a probe',
  });
  t.deepEqual(
    parseStapsdtNotes(bytes, 'x.so', { lenient: true }).map((probe) => probe.name),
    ['memory_sbrk_more'],
  );
});

test('a section that ends past the end of its file: strict says so, lenient reads what is there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-notes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cut.so');
  const whole = note('python', 'function__entry', '8@%rbp', 0n);
  writeFileSync(path, Buffer.concat([whole, note('python', 'line', '', 1n).subarray(0, 30)]));
  // Only what readUsdtProbes reads of an ElfFile: its path and its sections.
  const section = { name: '.note.stapsdt', type: 7, offset: 0n, size: BigInt(whole.length * 2) };
  const elf = { path, sections: [section] } as unknown as ElfFile;
  await t.throwsAsync(readUsdtProbes(elf), {
    instanceOf: ElfError,
    message: `${path}: truncated: .note.stapsdt ends past the end of the file`,
  });
  t.deepEqual(
    (await readUsdtProbes(elf, { lenient: true })).map((probe) => probe.name),
    ['function__entry'],
  );
});

test('an empty section has no probes', (t) => {
  t.deepEqual(parseStapsdtNotes(Buffer.alloc(0), 'x'), []);
});

// Debian's python3.11 (installed on the project's machines): 8 python probes, all with semaphores.
needing([PYTHON_NEED], test)(`${DEBIAN_PYTHON}: the 8 python USDT probes, each with a semaphore`, async (t) => {
  const probes = await readUsdtProbes(DEBIAN_PYTHON);
  t.deepEqual(probes.map((probe) => probe.name).sort(), [
    'audit',
    'function__entry',
    'function__return',
    'gc__done',
    'gc__start',
    'import__find__load__done',
    'import__find__load__start',
    'line',
  ]);
  t.true(probes.every((probe) => probe.provider === 'python' && probe.semaphore !== 0n));
  t.deepEqual(probes.find((probe) => probe.name === 'function__entry')?.args, ['8@%rbp', '8@%r12', '-4@%eax']);
});

test('a binary without notes (node) has none', async (t) => {
  t.deepEqual(await readUsdtProbes(process.execPath), []);
});
