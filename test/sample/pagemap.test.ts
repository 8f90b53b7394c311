import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import test from 'ava';
import { PageResidency, readPageResidency } from '../../src/sample/pagemap.js';

const PAGE = 4096;
const PRESENT = 0x80000000;
const SWAPPED = 0x40000000;

test('resident bytes of a range: only the parts on present pages, partial pages counted by the byte', (t) => {
  // Pages 0 and 2 present, page 1 swapped, page 3 neither.
  const residency = new PageResidency(0x10000, 4, PAGE);
  residency.setEntry(0, PRESENT);
  residency.setEntry(1, SWAPPED);
  residency.setEntry(2, PRESENT);
  t.is(residency.residentBytes(0x10000, 0x14000), 2 * PAGE);
  t.is(residency.residentBytes(0x10ff0, 0x12010), 0x10 + 0x10, 'the last 16 bytes of page 0 and the first 16 of page 2');
  t.is(residency.residentBytes(0x11000, 0x12000), 0, 'a swapped page is not resident');
  t.is(residency.residentBytes(0x0, 0x10010), 0x10, 'outside the range counts as not present');
  t.is(residency.residentBytes(0x12000, 0x12000), 0);
  t.true(residency.isSwapped(0x11fff));
  t.false(residency.isPresent(0x13000));
  t.deepEqual(residency.counts(), { present: 2, swapped: 1 });
  t.is(residency.presentRunEnd(0x10008, 0x20000), 0x11000);
  t.is(residency.presentRunEnd(0x12008, 0x12800), 0x12800, 'a run stops at the limit');
});

/** A stand-in for an open pagemap: entry i is present when `present(i)`; reads are recorded. */
function fakePagemap(present: (page: number) => boolean, reads: number[]): FileHandle {
  return {
    read: async (buffer: Buffer, offset: number, length: number, position: number) => {
      reads.push(length / 8);
      for (let i = 0; i < length / 8; i++) {
        buffer.writeUInt32LE(0, offset + i * 8);
        buffer.writeUInt32LE(present(position / 8 + i) ? PRESENT : 0, offset + i * 8 + 4);
      }
      return { bytesRead: length, buffer };
    },
  } as unknown as FileHandle;
}

test('a range of 200 000 pages is read 65 536 entries at a time, and every page lands in its place', async (t) => {
  const reads: number[] = [];
  const first = 0x7f0000000000 / PAGE;
  const residency = await readPageResidency(
    fakePagemap((page) => (page - first) % 3 === 0, reads),
    first * PAGE + 100,
    (first + 200_000) * PAGE - 100,
    PAGE,
  );
  t.deepEqual(reads, [65_536, 65_536, 65_536, 200_000 - 3 * 65_536]);
  t.is(residency.pageCount, 200_000, 'rounded out to whole pages');
  t.is(residency.counts().present, Math.ceil(200_000 / 3));
  t.true(residency.isPresent((first + 199_998) * PAGE));
  t.false(residency.isPresent((first + 199_999) * PAGE));
});

test("this process's own stack: the page in use is present", async (t) => {
  const maps = await (await import('node:fs/promises')).readFile('/proc/self/maps', 'utf8');
  const [startHex, endHex] = /^([0-9a-f]+)-([0-9a-f]+) .*\[stack\]$/m.exec(maps)!.slice(1) as [string, string];
  const handle = await open('/proc/self/pagemap', 'r');
  try {
    const residency = await readPageResidency(handle, Number.parseInt(startHex, 16), Number.parseInt(endHex, 16));
    // The top of the stack (its highest page) holds the environment and arguments.
    t.true(residency.isPresent(Number.parseInt(endHex, 16) - 1));
    t.true(residency.counts().present >= 1);
  } finally {
    await handle.close();
  }
});
