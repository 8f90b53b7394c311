// Gives a private copy of a shared library extra function symbols ("aliases") that point inside
// existing functions, so a tracer can put a plain `uprobe:/copy:alias` where it needs one.
//
// Why: bpftrace 0.17 refuses offset uprobes (`uprobe:libc:free+9`), and the probe on glibc's `free`
// entry is slow. glibc 2.36's free starts
//
//   48 85 ff             test %rdi,%rdi
//   0f 84 bf 00 00 00    je   <ret>          ; free(NULL): straight to a bare `ret`
//   55                   push %rbp           ; the body of a real free
//
// The kernel cannot emulate `test`, so a probe on the entry is single-stepped out of line while a
// probe on the `push` is emulated: a malloc+free loop ran at 13.1 µs per free probed at the entry
// and 0.76 µs probed at the push (18 ns unprobed; kernel 6.18, bpftrace 0.17). An alias on the push
// (`memtrace_free_body`) counts exactly the non-NULL frees, and one on the ret (`memtrace_free_null`)
// the NULL ones. The copy is used only by a target memtrace launches itself (LD_LIBRARY_PATH), and
// uprobes are per inode, so nothing else on the machine sees those probes.
//
// How the copy is made: everything the dynamic loader reads (the program headers and all PT_LOAD
// bytes) stays byte-identical; only non-loaded data is appended after the end of the file:
//
//   [original file][.strtab][.symtab][.shstrtab][section header table: old headers + those 3]
//
// and the ELF header's e_shoff / e_shnum / e_shstrndx point at the new table. Those three fields are
// the only changed bytes; they sit inside the first PT_LOAD (the ELF header is mapped), but nothing
// at run time reads them. The old section headers and .shstrtab stay in place, now unreferenced.
import { copyFile, chmod, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import {
  EM_X86_64,
  ELF_HEADER_SIZE,
  ElfError,
  readElf,
  SECTION_HEADER_SIZE,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHT_NOBITS,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STT_FUNC,
  SYMBOL_SIZE,
  type ElfFile,
  type ElfSection,
} from './elf.js';

export interface FreeBody {
  /** Offset from the function start of the first instruction after the NULL check (the push). */
  bodyOffset: number;
  /** Offset from the function start of the `ret` the NULL check jumps to, or null if the target is not a bare ret. */
  nullReturnOffset: number | null;
}

/**
 * Recognises the NULL-check prologue of glibc's free (x86_64 only):
 * `test %rdi,%rdi` (48 85 ff), then `je rel8` (74 xx) or `je rel32` (0f 84 xx xx xx xx), then a push
 * (55 = %rbp, 53 = %rbx, 41 50…57 = %r8…%r15). Returns null for anything else, and the caller
 * probes the function entry instead.
 */
export async function findFreeBody(elf: ElfFile, functionName = 'free'): Promise<FreeBody | null> {
  if (elf.machine !== EM_X86_64) return null;
  const fn = elf.findFunction(functionName);
  if (!fn) return null;
  const prologueLength = 11; // test (3) + je rel32 (6) + a two-byte push (2)
  if (fn.size !== 0n && fn.size < BigInt(prologueLength)) return null;
  let code: Buffer;
  try {
    code = await elf.readAtVaddr(fn.address, prologueLength);
  } catch {
    return null;
  }
  if (code[0] !== 0x48 || code[1] !== 0x85 || code[2] !== 0xff) return null;

  let bodyOffset: number;
  let displacement: number;
  if (code[3] === 0x74) {
    displacement = code.readInt8(4);
    bodyOffset = 5;
  } else if (code[3] === 0x0f && code[4] === 0x84) {
    displacement = code.readInt32LE(5);
    bodyOffset = 9;
  } else {
    return null;
  }
  if (!isPush(code, bodyOffset)) return null;

  // The je target is relative to the end of the je, which is where the body starts.
  const target = bodyOffset + displacement;
  let nullReturnOffset: number | null = null;
  if (target >= 0 && (fn.size === 0n || BigInt(target) < fn.size)) {
    try {
      const [byte] = await elf.readAtVaddr(fn.address + BigInt(target), 1);
      if (byte === 0xc3) nullReturnOffset = target;
    } catch {
      // Outside the file image: not a ret we can name.
    }
  }
  return { bodyOffset, nullReturnOffset };
}

function isPush(code: Buffer, at: number): boolean {
  const first = code[at]!;
  if (first === 0x55 || first === 0x53) return true;
  const second = code[at + 1]!;
  return first === 0x41 && second >= 0x50 && second <= 0x57;
}

export interface ElfAlias {
  name: string;
  /** ELF virtual address (as in readelf -s), not a runtime address. */
  address: bigint;
  /** Must be non-zero: bpftrace refuses to attach to a symbol of size 0. */
  size: bigint;
}

const ALIAS_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Copies `source` to `destination` (mode 0755) with `aliases` added as STT_FUNC GLOBAL symbols in a
 * new .symtab. Refuses a source that already has a .symtab: tools read the first SHT_SYMTAB they
 * find, so a second one would be ignored, and merging into the existing one is not done here.
 * The copy is written next to `destination` under a temporary name and renamed into place, so a
 * failure never leaves a half-written library where a loader could pick it up.
 */
export async function writeAliasedCopy(source: string, destination: string, aliases: readonly ElfAlias[]): Promise<void> {
  const elf = await readElf(source);
  const plan = planAliases(elf, aliases);

  const temporary = join(dirname(destination), `.${basename(destination)}.${process.pid}.tmp`);
  try {
    await copyFile(source, temporary);
    const handle = await open(temporary, 'r+');
    try {
      const { size } = await handle.stat();
      await appendSymbols(handle, size, elf, plan);
    } finally {
      await handle.close();
    }
    await chmod(temporary, 0o755);
    await rename(temporary, destination);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

interface PlannedSymbol {
  name: string;
  address: bigint;
  size: bigint;
  sectionIndex: number;
}

function planAliases(elf: ElfFile, aliases: readonly ElfAlias[]): PlannedSymbol[] {
  if (elf.sections.some((s) => s.type === SHT_SYMTAB)) {
    throw new ElfError(
      elf.path,
      'already has a .symtab; appending a second one is not safe (tools read only the first), so no aliased copy was made',
    );
  }
  if (elf.header.extendedNumbering || elf.sections.length === 0 || elf.sections.length + 3 >= 0xff00) {
    throw new ElfError(elf.path, 'has no section headers or uses extended section numbering; cannot add aliases');
  }
  if (aliases.length === 0) throw new Error('writeAliasedCopy: no aliases given');
  const seen = new Set<string>();
  return aliases.map((alias) => {
    if (!ALIAS_NAME.test(alias.name)) throw new Error(`alias name ${JSON.stringify(alias.name)} must match ${ALIAS_NAME}`);
    if (seen.has(alias.name)) throw new Error(`alias ${alias.name} is given twice`);
    seen.add(alias.name);
    if (alias.size <= 0n) throw new Error(`alias ${alias.name}: size must be positive (bpftrace refuses size-0 symbols)`);
    const section = codeSectionHolding(elf.sections, alias.address, alias.size);
    if (!section) {
      throw new Error(
        `alias ${alias.name}: 0x${alias.address.toString(16)}..+${alias.size} is not inside one executable section of ${elf.path}`,
      );
    }
    return { name: alias.name, address: alias.address, size: alias.size, sectionIndex: section.index };
  });
}

function codeSectionHolding(sections: ElfSection[], address: bigint, size: bigint): ElfSection | undefined {
  return sections.find(
    (s) =>
      (s.flags & SHF_ALLOC) !== 0n &&
      (s.flags & SHF_EXECINSTR) !== 0n &&
      s.type !== SHT_NOBITS &&
      address >= s.addr &&
      address + size <= s.addr + s.size,
  );
}

async function appendSymbols(handle: FileHandle, fileSize: number, elf: ElfFile, symbols: PlannedSymbol[]): Promise<void> {
  const oldCount = elf.sections.length;
  const strtabIndex = oldCount;
  const shstrtabIndex = oldCount + 2;

  // .strtab: a leading NUL (the empty name), then each alias name.
  const strtab = new StringTableBuilder();
  const nameOffsets = symbols.map((s) => strtab.add(s.name));

  // .symtab: entry 0 is the null symbol; all ours are global, so the first global is entry 1.
  const symtab = Buffer.alloc((symbols.length + 1) * SYMBOL_SIZE);
  symbols.forEach((symbol, i) => {
    const at = (i + 1) * SYMBOL_SIZE;
    symtab.writeUInt32LE(nameOffsets[i]!, at);
    symtab[at + 4] = (STB_GLOBAL << 4) | STT_FUNC;
    symtab[at + 5] = 0; // STV_DEFAULT
    symtab.writeUInt16LE(symbol.sectionIndex, at + 6);
    symtab.writeBigUInt64LE(symbol.address, at + 8);
    symtab.writeBigUInt64LE(symbol.size, at + 16);
  });

  // .shstrtab: the old table unchanged (old headers keep their name offsets), then the new names.
  // The new .shstrtab reuses the old ".shstrtab" name.
  const oldNames = elf.sections[elf.header.shstrndx];
  if (!oldNames || oldNames.type !== SHT_STRTAB) throw new ElfError(elf.path, 'has no section name table');
  const oldNameBytes = Buffer.alloc(Number(oldNames.size));
  await readFully(handle, oldNameBytes, Number(oldNames.offset));
  const shstrtab = new StringTableBuilder(oldNameBytes);
  const strtabName = shstrtab.add('.strtab');
  const symtabName = shstrtab.add('.symtab');
  const shstrtabName = oldNames.nameOffset;

  const oldHeaders = Buffer.alloc(oldCount * SECTION_HEADER_SIZE);
  await readFully(handle, oldHeaders, Number(elf.header.shoff));

  const layout = new AppendLayout(fileSize);
  const strtabOffset = layout.place(strtab.bytes(), 1);
  const symtabOffset = layout.place(symtab, 8);
  const shstrtabOffset = layout.place(shstrtab.bytes(), 1);
  const newHeaders = Buffer.alloc(3 * SECTION_HEADER_SIZE);
  writeSectionHeader(newHeaders, 0, {
    name: strtabName,
    type: SHT_STRTAB,
    offset: strtabOffset,
    size: strtab.length,
    link: 0,
    info: 0,
    align: 1n,
    entsize: 0n,
  });
  writeSectionHeader(newHeaders, 1, {
    name: symtabName,
    type: SHT_SYMTAB,
    offset: symtabOffset,
    size: symtab.length,
    link: strtabIndex,
    info: 1,
    align: 8n,
    entsize: BigInt(SYMBOL_SIZE),
  });
  writeSectionHeader(newHeaders, 2, {
    name: shstrtabName,
    type: SHT_STRTAB,
    offset: shstrtabOffset,
    size: shstrtab.length,
    link: 0,
    info: 0,
    align: 1n,
    entsize: 0n,
  });
  const headerTableOffset = layout.place(Buffer.concat([oldHeaders, newHeaders]), 8);

  await writeFully(handle, layout.bytes(), fileSize);

  const patch = Buffer.alloc(ELF_HEADER_SIZE);
  await readFully(handle, patch, 0);
  patch.writeBigUInt64LE(BigInt(headerTableOffset), 0x28); // e_shoff
  patch.writeUInt16LE(oldCount + 3, 0x3c); // e_shnum
  patch.writeUInt16LE(shstrtabIndex, 0x3e); // e_shstrndx
  await writeFully(handle, patch.subarray(0x28, 0x40), 0x28);
}

interface SectionHeaderFields {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: bigint;
  entsize: bigint;
}

/** A non-allocated section header (flags 0, address 0): none of these sections is loaded. */
function writeSectionHeader(table: Buffer, slot: number, fields: SectionHeaderFields): void {
  const at = slot * SECTION_HEADER_SIZE;
  table.writeUInt32LE(fields.name, at);
  table.writeUInt32LE(fields.type, at + 4);
  table.writeBigUInt64LE(0n, at + 8);
  table.writeBigUInt64LE(0n, at + 16);
  table.writeBigUInt64LE(BigInt(fields.offset), at + 24);
  table.writeBigUInt64LE(BigInt(fields.size), at + 32);
  table.writeUInt32LE(fields.link, at + 40);
  table.writeUInt32LE(fields.info, at + 44);
  table.writeBigUInt64LE(fields.align, at + 48);
  table.writeBigUInt64LE(fields.entsize, at + 56);
}

/** An ELF string table under construction: NUL-terminated names, addressed by byte offset. */
class StringTableBuilder {
  #parts: Buffer[];
  #length: number;

  constructor(initial: Buffer = Buffer.from([0])) {
    this.#parts = [initial];
    this.#length = initial.length;
  }

  add(name: string): number {
    const offset = this.#length;
    const bytes = Buffer.from(`${name}\0`, 'utf8');
    this.#parts.push(bytes);
    this.#length += bytes.length;
    return offset;
  }

  get length(): number {
    return this.#length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/** Blobs appended after `start`, each aligned as its section requires; offsets are file offsets. */
class AppendLayout {
  #parts: Buffer[] = [];
  #end: number;

  constructor(private readonly start: number) {
    this.#end = start;
  }

  place(bytes: Buffer, alignment: number): number {
    const padding = (alignment - (this.#end % alignment)) % alignment;
    if (padding > 0) this.#parts.push(Buffer.alloc(padding));
    const offset = this.#end + padding;
    this.#parts.push(bytes);
    this.#end = offset + bytes.length;
    return offset;
  }

  get length(): number {
    return this.#end - this.start;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

async function readFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

async function writeFully(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    done += bytesWritten;
  }
}
