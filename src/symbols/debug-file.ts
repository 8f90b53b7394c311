// Separate debug files, found the way gdb finds them: by the GNU build-id note, under
// /usr/lib/debug/.build-id/xx/yyyy.debug. Distributions strip .symtab from their libraries (Debian's
// libc.so.6 keeps only .dynsym), so local functions such as __libc_start_call_main, the root frame of
// every stack, have names only in the debug file that a -dbg package installs.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { readElf, type ElfFile } from './elf.js';

const NT_GNU_BUILD_ID = 3;
export const DEBUG_ROOT = '/usr/lib/debug';

/** The build-id of an ELF file as lowercase hex, from its .note.gnu.build-id section; null if none. */
export async function readBuildId(elf: ElfFile): Promise<string | null> {
  const section = elf.sections.find((candidate) => candidate.name === '.note.gnu.build-id');
  if (section === undefined || section.size < 16n || section.size > 1024n) return null;
  const handle = await open(elf.path, 'r');
  try {
    const bytes = Buffer.alloc(Number(section.size));
    await handle.read(bytes, 0, bytes.length, Number(section.offset));
    const nameSize = bytes.readUInt32LE(0);
    const descSize = bytes.readUInt32LE(4);
    const type = bytes.readUInt32LE(8);
    const descStart = 12 + Math.ceil(nameSize / 4) * 4;
    if (type !== NT_GNU_BUILD_ID || bytes.toString('latin1', 12, 15) !== 'GNU' || descStart + descSize > bytes.length) return null;
    return bytes.subarray(descStart, descStart + descSize).toString('hex');
  } finally {
    await handle.close();
  }
}

/** The debug file of `elf`, read, when one is installed and its build-id matches; otherwise null. */
export async function readDebugFile(elf: ElfFile, root = DEBUG_ROOT): Promise<ElfFile | null> {
  const buildId = await readBuildId(elf).catch(() => null);
  if (buildId === null || buildId.length < 4) return null;
  const path = join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
  try {
    const debug = await readElf(path);
    // A stale debug file from another build would name the wrong functions: worse than none.
    return (await readBuildId(debug)) === buildId ? debug : null;
  } catch {
    return null;
  }
}
