// Reads the USDT probes a binary declares: SystemTap SDT notes (owner "stapsdt", type 3) in its
// .note.stapsdt section, the format of <sys/sdt.h> that bpftrace's usdt probes read too. Each note's
// descriptor is three addresses (probe PC, .stapsdt.base, semaphore) then three NUL-terminated
// strings: provider, probe name, argument description. Reference: the "ELF notes" section of
// https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation
import { open } from 'node:fs/promises';
import type { ElfFile } from './elf.js';

export interface StapsdtProbe {
  provider: string;
  name: string;
  /** Argument description, e.g. `-4@%esi 8@%rdx`. */
  args: string;
  pc: bigint;
  semaphore: bigint;
}

const NT_STAPSDT = 3;
const SHT_NOTE = 7;

/** The probes of an ELF file already read; [] when it has no .note.stapsdt section. */
export async function readStapsdtNotes(elf: ElfFile): Promise<StapsdtProbe[]> {
  const section = elf.sections.find((candidate) => candidate.name === '.note.stapsdt' && candidate.type === SHT_NOTE);
  if (section === undefined || section.size === 0n) return [];
  const handle = await open(elf.path, 'r');
  let bytes: Buffer;
  try {
    bytes = Buffer.alloc(Number(section.size));
    await handle.read(bytes, 0, bytes.length, Number(section.offset));
  } finally {
    await handle.close();
  }
  return parseStapsdtNotes(bytes);
}

/** The notes of one SHT_NOTE section's bytes (64-bit, little-endian); notes of other owners are skipped. */
export function parseStapsdtNotes(bytes: Buffer): StapsdtProbe[] {
  const probes: StapsdtProbe[] = [];
  let at = 0;
  while (at + 12 <= bytes.length) {
    const nameSize = bytes.readUInt32LE(at);
    const descSize = bytes.readUInt32LE(at + 4);
    const type = bytes.readUInt32LE(at + 8);
    const nameStart = at + 12;
    const descStart = nameStart + align4(nameSize);
    const next = descStart + align4(descSize);
    if (next > bytes.length) break;
    const owner = bytes.toString('latin1', nameStart, nameStart + Math.max(0, nameSize - 1));
    if (owner === 'stapsdt' && type === NT_STAPSDT && descSize >= 24) {
      const strings = bytes.toString('latin1', descStart + 24, descStart + descSize).split('\0');
      probes.push({
        pc: bytes.readBigUInt64LE(descStart),
        semaphore: bytes.readBigUInt64LE(descStart + 16),
        provider: strings[0] ?? '',
        name: strings[1] ?? '',
        args: strings[2] ?? '',
      });
    }
    at = next;
  }
  return probes;
}

function align4(size: number): number {
  return (size + 3) & ~3;
}
