// The program interpreter an executable names (PT_INTERP: the dynamic loader, such as
// /lib64/ld-linux-x86-64.so.2), or null for a statically linked one. Read on its own, without the
// symbol tables: it decides how a launched command is held before a DWARF trace (run/trace-session.ts).
import { open } from 'node:fs/promises';

const PT_INTERP = 3;
const MAX_INTERP_LENGTH = 4096;

export async function readInterpreter(path: string): Promise<string | null> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(64);
    await handle.read(header, 0, 64, 0);
    // 64-bit little-endian ELF only: the only kind memtrace traces (x86-64, aarch64).
    if (header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return null;
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    if (phentsize < 56 || phnum === 0) return null;
    const table = Buffer.alloc(phentsize * phnum);
    await handle.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (table.readUInt32LE(at) !== PT_INTERP) continue;
      const offset = Number(table.readBigUInt64LE(at + 8));
      const size = Number(table.readBigUInt64LE(at + 32));
      if (size < 2 || size > MAX_INTERP_LENGTH) return null;
      const text = Buffer.alloc(size);
      await handle.read(text, 0, size, offset);
      return text.toString('latin1').replace(/\0.*$/s, '');
    }
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * The loader a launched command will run under: its own PT_INTERP, or for a `#!` script that of the
 * interpreter its first line names (when that is an ELF executable). `#!/usr/bin/env X` resolves to
 * env's loader, not X's: env execs again, after the point this is used for.
 */
export async function readCommandInterpreter(path: string): Promise<string | null> {
  const head = Buffer.alloc(256);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (head.toString('latin1', 0, 2) === '#!') {
    const interpreter = /^#!\s*(\S+)/.exec(head.toString('latin1').split('\n')[0]!)?.[1];
    return interpreter?.startsWith('/') ? readInterpreter(interpreter).catch(() => null) : null;
  }
  return readInterpreter(path);
}
