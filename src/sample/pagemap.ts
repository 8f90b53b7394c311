// Which pages of a process's address range are in RAM, from /proc/PID/pagemap.
//
// Reference: the kernel's Documentation/admin-guide/mm/pagemap.rst. The file holds one 64-bit
// little-endian entry per virtual page, at offset (address / page size) * 8:
//   bit 63  page present (in RAM)
//   bit 62  page swapped
//   bit 61  file-backed or shared anonymous page
//   bits 0-54 the frame number (zero without CAP_SYS_ADMIN), or the swap type and offset
// Reading it needs the same right as ptrace-reading the process (PTRACE_MODE_READ); a page that was
// never touched, or was given back with MADV_DONTNEED, reads neither present nor swapped.
//
// A present entry may be the shared zero page (a read of never-written anonymous memory), which
// smaps' Rss does not count: the bitmap cannot tell it apart without the frame number.
import type { FileHandle } from 'node:fs/promises';
import { pageSize } from './linux-proc.js';

/** Entries read at once: 64 Ki entries, 512 KiB of buffer, 256 MiB of address space with 4 KiB pages. */
const ENTRIES_PER_READ = 64 * 1024;

/** A present/swapped bitmap over whole pages, from `start` (page-aligned) for `pageCount` pages. */
export class PageResidency {
  readonly start: number;
  readonly pageCount: number;
  readonly pageBytes: number;
  readonly #present: Uint8Array;
  readonly #swapped: Uint8Array;

  constructor(start: number, pageCount: number, pageBytes: number) {
    this.start = start;
    this.pageCount = pageCount;
    this.pageBytes = pageBytes;
    this.#present = new Uint8Array(Math.ceil(pageCount / 8));
    this.#swapped = new Uint8Array(Math.ceil(pageCount / 8));
  }

  /** One past the last byte covered. */
  get end(): number {
    return this.start + this.pageCount * this.pageBytes;
  }

  /** True when `address` lies on a page of the range that is in RAM (false outside the range). */
  isPresent(address: number): boolean {
    const page = this.#pageOf(address);
    return page !== -1 && (this.#present[page >> 3]! & (1 << (page & 7))) !== 0;
  }

  /** True when `address` lies on a page of the range that is swapped out. */
  isSwapped(address: number): boolean {
    const page = this.#pageOf(address);
    return page !== -1 && (this.#swapped[page >> 3]! & (1 << (page & 7))) !== 0;
  }

  /** Bytes of [from, to) that lie on present pages; the parts outside the range count as not present. */
  residentBytes(from: number, to: number): number {
    const low = Math.max(from, this.start);
    const high = Math.min(to, this.end);
    if (high <= low) return 0;
    let total = 0;
    const first = Math.floor((low - this.start) / this.pageBytes);
    const last = Math.floor((high - 1 - this.start) / this.pageBytes);
    for (let page = first; page <= last; page++) {
      if ((this.#present[page >> 3]! & (1 << (page & 7))) === 0) continue;
      const pageStart = this.start + page * this.pageBytes;
      total += Math.min(high, pageStart + this.pageBytes) - Math.max(low, pageStart);
    }
    return total;
  }

  /** How many pages are present, and how many swapped. */
  counts(): { present: number; swapped: number } {
    let present = 0;
    let swapped = 0;
    for (let page = 0; page < this.pageCount; page++) {
      if (this.#present[page >> 3]! & (1 << (page & 7))) present++;
      if (this.#swapped[page >> 3]! & (1 << (page & 7))) swapped++;
    }
    return { present, swapped };
  }

  /** The first address at or after `address` whose page is not present, or `limit` if all are up to it. */
  presentRunEnd(address: number, limit: number): number {
    let page = this.#pageOf(address);
    if (page === -1) return address;
    for (; page < this.pageCount; page++) {
      const pageStart = this.start + page * this.pageBytes;
      if (pageStart >= limit) return limit;
      if ((this.#present[page >> 3]! & (1 << (page & 7))) === 0) return Math.max(address, pageStart);
    }
    return Math.min(limit, this.end);
  }

  /** Records one pagemap entry, given its high 32 bits. */
  setEntry(page: number, high: number): void {
    const bit = 1 << (page & 7);
    if (high & 0x80000000) this.#present[page >> 3]! |= bit;
    if (high & 0x40000000) this.#swapped[page >> 3]! |= bit;
  }

  #pageOf(address: number): number {
    if (address < this.start || address >= this.end) return -1;
    return Math.floor((address - this.start) / this.pageBytes);
  }
}

/**
 * Reads the pagemap entries of [start, end) (rounded out to whole pages) from an open
 * /proc/PID/pagemap, 64 Ki entries at a time: memory is one bit a page plus a 512 KiB buffer,
 * however large the range. Errors of the read (ESRCH, EPERM) are thrown as node gives them.
 */
export async function readPageResidency(pagemap: FileHandle, start: number, end: number, pageBytes = pageSize()): Promise<PageResidency> {
  const first = Math.floor(start / pageBytes);
  const pageCount = Math.max(0, Math.ceil(end / pageBytes) - first);
  const residency = new PageResidency(first * pageBytes, pageCount, pageBytes);
  const buffer = Buffer.alloc(Math.min(pageCount, ENTRIES_PER_READ) * 8);
  for (let done = 0; done < pageCount;) {
    const want = Math.min(pageCount - done, ENTRIES_PER_READ);
    const { bytesRead } = await pagemap.read(buffer, 0, want * 8, (first + done) * 8);
    const got = Math.floor(bytesRead / 8);
    // A short read past the end of the address space; the rest reads as not present.
    if (got === 0) break;
    for (let i = 0; i < got; i++) residency.setEntry(done + i, buffer.readUInt32LE(i * 8 + 4));
    done += got;
  }
  return residency;
}
