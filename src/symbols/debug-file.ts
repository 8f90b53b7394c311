// Separate debug files, found the way gdb finds them: by the GNU build-id note, under
// /usr/lib/debug/.build-id/xx/yyyy.debug. Distributions strip .symtab from their libraries (Debian's
// libc.so.6 keeps only .dynsym), so local functions such as __libc_start_call_main, the root frame of
// every stack, have names only in the debug file that a -dbg package installs.
//
// MiniDebugInfo: some distributions (Fedora, and binaries built the same way) keep the local
// functions' symbols inside the stripped file itself, as an xz-compressed ELF holding a .symtab in a
// section named .gnu_debugdata (gdb's "MiniDebugInfo"). It is read when no debug file is installed.
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readElf, type ElfFile } from './elf.js';

/** The largest .gnu_debugdata read, compressed, and what it may decompress to. */
const MAX_MINI_DEBUG_BYTES = 64 * 1024 * 1024;
const MAX_MINI_DEBUG_EXPANDED = 512 * 1024 * 1024;

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
    const debug = await readElf(path, { debugSymbols: true });
    // A stale debug file from another build would name the wrong functions: worse than none.
    return (await readBuildId(debug)) === buildId ? debug : null;
  } catch {
    return null;
  }
}

/** The symbols of `elf`'s .gnu_debugdata (MiniDebugInfo), read; null when it has none or it cannot be read. */
export async function readMiniDebugInfo(elf: ElfFile, xz = 'xz'): Promise<ElfFile | null> {
  const section = elf.sections.find((candidate) => candidate.name === '.gnu_debugdata');
  if (section === undefined || section.size === 0n || section.size > BigInt(MAX_MINI_DEBUG_BYTES)) return null;
  const compressed = Buffer.alloc(Number(section.size));
  const handle = await open(elf.path, 'r');
  try {
    await handle.read(compressed, 0, compressed.length, Number(section.offset));
  } finally {
    await handle.close();
  }
  const expanded = await decompressXz(compressed, xz).catch(() => null);
  if (expanded === null) return null;
  // readElf reads a file: the symbols are read eagerly, so the file can go straight after.
  const directory = await mkdtemp(join(tmpdir(), 'memtrace-minidebug-'));
  try {
    const path = join(directory, 'gnu_debugdata.elf');
    await writeFile(path, expanded, { mode: 0o600 });
    return await readElf(path, { debugSymbols: true }).catch(() => null);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function decompressXz(input: Buffer, xz: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      xz,
      ['--decompress', '--stdout'],
      { encoding: 'buffer', maxBuffer: MAX_MINI_DEBUG_EXPANDED },
      (error, stdout) => {
        if (error) reject(error);
        else resolve(stdout);
      },
    );
    child.stdin?.on('error', () => {}); // xz that died early: its exit code says so
    child.stdin?.end(input);
  });
}
