// SystemTap SDT notes, parsed from bytes laid out as <sys/sdt.h> writes them (the real notes of a
// binary are read in v8-gc-symbol.test.ts, against readelf -n).
import test from 'ava';
import { parseStapsdtNotes } from '../../src/symbols/stapsdt.js';

test('a stapsdt note is read; notes of other owners, and a note cut short, are skipped', (t) => {
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
  t.deepEqual(parseStapsdtNotes(Buffer.concat([gnu, sdt])), [
    { provider: 'node', name: 'gc__start', args: '-4@%edi', pc: 0x1234n, semaphore: 0n },
  ]);
  t.deepEqual(parseStapsdtNotes(Buffer.concat([gnu, sdt.subarray(0, sdt.length - 8)])), []);
});
