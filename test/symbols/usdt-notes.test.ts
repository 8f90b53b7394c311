import test from 'ava';
import { ElfError } from '../../src/symbols/elf.js';
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
