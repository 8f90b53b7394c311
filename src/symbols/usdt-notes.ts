// Reads the USDT probes an ELF file declares: its .note.stapsdt notes (the SystemTap SDT format of
// <sys/sdt.h>, which bpftrace's `usdt:` probes and `readelf -n` read;
// https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation, "ELF notes").
// Each note (type 3, owner "stapsdt") holds the probe's address, the .stapsdt.base address it was
// linked against, the address of its semaphore (0 when it has none), then three C strings:
// provider, name, and the argument specifications (`8@%rbp 8@%r12 -4@%eax`).
import { open } from 'node:fs/promises';
import { ElfError, readElf, type ElfFile } from './elf.js';

export interface UsdtProbe {
  provider: string;
  name: string;
  address: bigint;
  /** 0n when the probe has no semaphore (it always fires once attached). */
  semaphore: bigint;
  /** The argument specifications, one per argument (`-4@%eax`: a signed 4-byte value in eax). */
  args: string[];
}

export interface UsdtNotesOptions {
  /**
   * Read a damaged note table as far as it is whole instead of throwing ElfError: a note cut short
   * (or a section cut short by the end of the file) ends it, a stapsdt note too short for a probe is
   * skipped, a section too large to be a note table has no probes. For callers to whom the probes
   * are one way among others (gc falls back to V8's symbol).
   */
  lenient?: boolean;
}

const NT_STAPSDT = 3;
const SHT_NOTE = 7;
/** Notes larger than this are not a real SDT note table (CPython's has 8 notes of ~70 bytes). */
const MAX_NOTES_BYTES = 16 * 1024 * 1024;

/** The USDT probes of an ELF file, in note order; [] when it has no .note.stapsdt section. */
export async function readUsdtProbes(pathOrElf: string | ElfFile, options: UsdtNotesOptions = {}): Promise<UsdtProbe[]> {
  const elf = typeof pathOrElf === 'string' ? await readElf(pathOrElf) : pathOrElf;
  const section = elf.sections.find((candidate) => candidate.name === '.note.stapsdt' && candidate.type === SHT_NOTE);
  if (section === undefined || section.size === 0n) return [];
  if (section.size > BigInt(MAX_NOTES_BYTES)) {
    if (options.lenient === true) return [];
    throw new ElfError(elf.path, `.note.stapsdt is ${section.size} bytes: not a note table`);
  }
  const handle = await open(elf.path, 'r');
  try {
    const buffer = Buffer.alloc(Number(section.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, Number(section.offset));
    if (bytesRead !== buffer.length && options.lenient !== true)
      throw new ElfError(elf.path, 'truncated: .note.stapsdt ends past the end of the file');
    return parseStapsdtNotes(buffer.subarray(0, bytesRead), elf.path, options);
  } finally {
    await handle.close();
  }
}

/** Parses the bytes of a .note.stapsdt section (ELF64 notes, little-endian, 4-byte aligned); notes of other owners are skipped. */
export function parseStapsdtNotes(bytes: Buffer, path: string, options: UsdtNotesOptions = {}): UsdtProbe[] {
  const probes: UsdtProbe[] = [];
  let offset = 0;
  while (offset + 12 <= bytes.length) {
    const nameSize = bytes.readUInt32LE(offset);
    const descSize = bytes.readUInt32LE(offset + 4);
    const type = bytes.readUInt32LE(offset + 8);
    const nameStart = offset + 12;
    const descStart = nameStart + align4(nameSize);
    const next = descStart + align4(descSize);
    if (next > bytes.length) {
      if (options.lenient === true) break;
      throw new ElfError(path, `.note.stapsdt: a note at offset ${offset} runs past the section`);
    }
    const owner = bytes.toString('latin1', nameStart, nameStart + Math.max(0, nameSize - 1));
    if (type === NT_STAPSDT && owner === 'stapsdt') {
      if (descSize >= 24 + 3) {
        const desc = bytes.subarray(descStart, descStart + descSize);
        const strings = desc.toString('latin1', 24).split('\u0000');
        probes.push({
          address: desc.readBigUInt64LE(0),
          semaphore: desc.readBigUInt64LE(16),
          provider: strings[0] ?? '',
          name: strings[1] ?? '',
          args: (strings[2] ?? '').split(' ').filter((arg) => arg !== ''),
        });
      } else if (options.lenient !== true) {
        throw new ElfError(path, `.note.stapsdt: the note at offset ${offset} is too short for a probe`);
      }
    }
    offset = next;
  }
  return probes;
}

function align4(size: number): number {
  return (size + 3) & ~3;
}
