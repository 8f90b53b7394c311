// Reads what the symbolizer and the alias writer need from an ELF64 little-endian file (x86_64 and
// aarch64): the ELF header, the PT_LOAD program headers, the section headers and the function
// symbols of .symtab and .dynsym.
//
// Reference: the System V gABI, "Object Files" (https://www.sco.com/developers/gabi/latest/ch4.intro.html)
// and the LSB for the GNU extensions (STT_GNU_IFUNC, STB_GNU_UNIQUE, SHT_GNU_versym).
//
// Files are read with positioned reads, never loaded whole: node's own binary is ~100 MB and we only
// need its headers and symbol tables. readElf() opens the file, reads everything it keeps, and closes
// it again, so an ElfFile holds no file descriptor (a symbolizer may cache hundreds of them).
// readAtVaddr() and findObjects() reopen the file and check that it is still the same file (inode,
// size, mtime). Data symbols are read only by findObjects(), when asked: few callers want them, and
// node's .symtab holds tens of thousands that a cached ElfFile would otherwise keep.
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { MemtraceError } from '../errors.js';

/** The file is not an ELF64 little-endian file, is cut short, or could not be read. */
export class ElfError extends MemtraceError {
  readonly path: string;
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${problem}`, { cause: options.cause });
    this.path = path;
  }
}

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
const SHT_GNU_VERSYM = 0x6fffffff;

export const SHF_ALLOC = 0x2n;
export const SHF_EXECINSTR = 0x4n;
const SHF_TLS = 0x400n;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;
const PT_LOAD = 1;

export const ELF_HEADER_SIZE = 64;
export const SECTION_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
export const SYMBOL_SIZE = 24;

export interface LoadSegment {
  vaddr: bigint;
  offset: bigint;
  filesz: bigint;
  memsz: bigint;
  /** PF_R | PF_W | PF_X bits. */
  flags: number;
}

export interface ElfSection {
  index: number;
  name: string;
  /** Offset of the name in the section-name string table, needed to rewrite that table. */
  nameOffset: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}

export interface ElfFunction {
  name: string;
  address: bigint;
  /** 0 when the symbol table does not say (hand-written assembly often omits .size). */
  size: bigint;
  /** The section the symbol is defined in: a size-0 symbol only extends to the end of it. */
  sectionIndex: number;
}

/** A data symbol (STT_OBJECT): a variable such as glibc's `main_arena`. */
export interface ElfObject {
  name: string;
  address: bigint;
  size: bigint;
  /** STB_LOCAL, STB_GLOBAL, STB_WEAK (or STB_GNU_UNIQUE). */
  binding: number;
  /** The table it came from: `.symtab` holds the static (local) variables, `.dynsym` only exported ones. */
  table: '.symtab' | '.dynsym';
}

/** The ELF header fields that locate the tables; elf-alias rewrites some of them. */
export interface ElfHeader {
  type: number;
  phoff: bigint;
  phnum: number;
  shoff: bigint;
  shnum: number;
  shstrndx: number;
  /** True when e_shnum / e_shstrndx / e_phnum overflowed into section header 0 (extended numbering). */
  extendedNumbering: boolean;
}

export interface ElfFile {
  path: string;
  kind: 'exec' | 'dyn' | 'other';
  machine: number;
  header: ElfHeader;
  segments: LoadSegment[];
  sections: ElfSection[];
  /** Function symbols of .symtab and .dynsym, one per address, sorted by address. */
  functions: ElfFunction[];
  fileOffsetToVaddr(offset: bigint): bigint | undefined;
  vaddrToFileOffset(vaddr: bigint): bigint | undefined;
  /** Reads bytes of the file image at a virtual address; throws ElfError outside the file-backed part of a PT_LOAD. */
  readAtVaddr(vaddr: bigint, length: number): Promise<Buffer>;
  /** A function by exact symbol name, including names that lost the per-address deduplication (aliases). */
  findFunction(name: string): ElfFunction | undefined;
  /** The section containing a virtual address (allocated sections only). */
  sectionAt(vaddr: bigint): ElfSection | undefined;
  /**
   * The data symbols (STT_OBJECT) named `name`, one per distinct address, from .symtab and .dynsym:
   * several when static variables of different files share a name. Rereads the symbol tables
   * (throws ElfError if the file changed since readElf); nothing is cached.
   */
  findObjects(name: string): Promise<ElfObject[]>;
}

/**
 * Opens, reads and closes an ELF64 little-endian file. Throws ElfError for anything else.
 * `debugSymbols`: a file of symbols alone (a separate debug file, MiniDebugInfo) whose program headers
 * describe the original's segments, not its own bytes (`objcopy --only-keep-debug` keeps them): its
 * PT_LOAD segments are not checked against its size, and no code is read from it.
 */
export async function readElf(path: string, options: { debugSymbols?: boolean } = {}): Promise<ElfFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new ElfError(path, `cannot open: ${describeFsError(error)}`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ElfError(path, 'not a regular file');
    return await parseElf(new PositionedReader(path, handle, stats.size), stats, options.debugSymbols === true);
  } catch (error) {
    if (error instanceof ElfError) throw error;
    throw new ElfError(path, `cannot read: ${describeFsError(error)}`, { cause: error });
  } finally {
    await handle.close();
  }
}

/** Reads byte ranges of an open file, turning a short file into an ElfError that says so. */
class PositionedReader {
  constructor(
    readonly path: string,
    readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async read(offset: bigint | number, length: bigint | number, what: string): Promise<Buffer> {
    const start = Number(offset);
    const count = Number(length);
    if (start + count > this.size) {
      throw new ElfError(this.path, `truncated: ${what} needs bytes ${start}..${start + count} but the file has ${this.size}`);
    }
    const buffer = Buffer.alloc(count);
    let done = 0;
    while (done < count) {
      const { bytesRead } = await this.handle.read(buffer, done, count - done, start + done);
      if (bytesRead === 0) throw new ElfError(this.path, `truncated: ${what} ends past the end of the file`);
      done += bytesRead;
    }
    return buffer;
  }
}

async function parseElf(reader: PositionedReader, stats: Stats, debugSymbols: boolean): Promise<ElfFile> {
  const path = reader.path;
  if (reader.size < 4) throw new ElfError(path, 'not an ELF file (shorter than the 4-byte magic)');
  const ident = await reader.read(0, Math.min(16, reader.size), 'the ELF identification');
  if (ident[0] !== 0x7f || ident.toString('latin1', 1, 4) !== 'ELF') throw new ElfError(path, 'not an ELF file (no \\x7fELF magic)');
  if (ident.length < 16) throw new ElfError(path, 'truncated: shorter than the ELF identification');
  if (ident[4] === 1) throw new ElfError(path, 'is a 32-bit ELF file; only ELF64 is supported');
  if (ident[4] !== 2) throw new ElfError(path, `unknown ELF class ${ident[4]}`);
  if (ident[5] !== 1) throw new ElfError(path, 'is a big-endian ELF file; only little-endian is supported');

  const h = await reader.read(0, ELF_HEADER_SIZE, 'the ELF header');
  const type = h.readUInt16LE(0x10);
  const machine = h.readUInt16LE(0x12);
  const phoff = h.readBigUInt64LE(0x20);
  const shoff = h.readBigUInt64LE(0x28);
  const phentsize = h.readUInt16LE(0x36);
  let phnum = h.readUInt16LE(0x38);
  const shentsize = h.readUInt16LE(0x3a);
  let shnum = h.readUInt16LE(0x3c);
  let shstrndx = h.readUInt16LE(0x3e);

  // Extended numbering: counts that do not fit 16 bits live in section header 0.
  let extendedNumbering = false;
  if (shoff !== 0n && (shnum === 0 || shstrndx === SHN_XINDEX || phnum === PN_XNUM)) {
    const first = await reader.read(shoff, SECTION_HEADER_SIZE, 'section header 0');
    if (shnum === 0) shnum = Number(first.readBigUInt64LE(32));
    if (shstrndx === SHN_XINDEX) shstrndx = first.readUInt32LE(40);
    if (phnum === PN_XNUM) phnum = first.readUInt32LE(44);
    extendedNumbering = true;
  }
  if (phnum > 0 && phentsize !== PROGRAM_HEADER_SIZE) throw new ElfError(path, `unexpected program header size ${phentsize}`);
  if (shnum > 0 && shentsize !== SECTION_HEADER_SIZE) throw new ElfError(path, `unexpected section header size ${shentsize}`);

  const segments = await readLoadSegments(reader, phoff, phnum, debugSymbols);
  const sections = await readSections(reader, shoff, shnum, shstrndx);
  const { functions, byName } = await readFunctions(reader, sections);

  return new LoadedElf(
    path,
    type === 2 ? 'exec' : type === 3 ? 'dyn' : 'other',
    machine,
    { type, phoff, phnum, shoff, shnum, shstrndx, extendedNumbering },
    segments,
    sections,
    functions,
    byName,
    fileIdentity(stats),
  );
}

async function readLoadSegments(reader: PositionedReader, phoff: bigint, phnum: number, debugSymbols: boolean): Promise<LoadSegment[]> {
  if (phnum === 0) return [];
  const table = await reader.read(phoff, phnum * PROGRAM_HEADER_SIZE, 'the program header table');
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * PROGRAM_HEADER_SIZE;
    if (table.readUInt32LE(at) !== PT_LOAD) continue;
    const segment: LoadSegment = {
      flags: table.readUInt32LE(at + 4),
      offset: table.readBigUInt64LE(at + 8),
      vaddr: table.readBigUInt64LE(at + 16),
      filesz: table.readBigUInt64LE(at + 32),
      memsz: table.readBigUInt64LE(at + 40),
    };
    // A library cut short would still parse, and then symbolize with garbage: refuse it here.
    if (!debugSymbols && segment.offset + segment.filesz > BigInt(reader.size)) {
      throw new ElfError(
        reader.path,
        `truncated: PT_LOAD segment ${i} ends at byte ${segment.offset + segment.filesz} but the file has ${reader.size}`,
      );
    }
    segments.push(segment);
  }
  return segments;
}

async function readSections(reader: PositionedReader, shoff: bigint, shnum: number, shstrndx: number): Promise<ElfSection[]> {
  if (shnum === 0 || shoff === 0n) return [];
  const table = await reader.read(shoff, shnum * SECTION_HEADER_SIZE, 'the section header table');
  const sections: ElfSection[] = [];
  for (let index = 0; index < shnum; index++) {
    const at = index * SECTION_HEADER_SIZE;
    sections.push({
      index,
      name: '',
      nameOffset: table.readUInt32LE(at),
      type: table.readUInt32LE(at + 4),
      flags: table.readBigUInt64LE(at + 8),
      addr: table.readBigUInt64LE(at + 16),
      offset: table.readBigUInt64LE(at + 24),
      size: table.readBigUInt64LE(at + 32),
      link: table.readUInt32LE(at + 40),
      info: table.readUInt32LE(at + 44),
      addralign: table.readBigUInt64LE(at + 48),
      entsize: table.readBigUInt64LE(at + 56),
    });
  }
  const names = sections[shstrndx];
  if (names && names.type !== SHT_NOBITS) {
    const strings = await reader.read(names.offset, names.size, 'the section name table');
    for (const section of sections) section.name = readString(strings, section.nameOffset);
  }
  return sections;
}

interface Candidate extends ElfFunction {
  binding: number;
  /** The symbol is a non-default version (`name@VER` rather than `name@@VER`). */
  hidden: boolean;
}

async function readFunctions(
  reader: PositionedReader,
  sections: ElfSection[],
): Promise<{ functions: ElfFunction[]; byName: Map<string, ElfFunction> }> {
  const best = new Map<bigint, Candidate>();
  const largestSize = new Map<bigint, bigint>();
  const byName = new Map<string, Candidate>();

  for (const table of sections) {
    if (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM) continue;
    const strtab = sections[table.link];
    if (!strtab || strtab.type !== SHT_STRTAB) continue;
    const symbols = await reader.read(table.offset, table.size, `symbol table ${table.name || table.index}`);
    const strings = await reader.read(strtab.offset, strtab.size, `string table ${strtab.name || strtab.index}`);
    const versions = table.type === SHT_DYNSYM ? await readVersionSymbols(reader, sections, table.index) : undefined;

    const count = Math.floor(symbols.length / SYMBOL_SIZE);
    for (let i = 1; i < count; i++) {
      const at = i * SYMBOL_SIZE;
      const info = symbols[at + 4]!;
      const symbolType = info & 0xf;
      if (symbolType !== STT_FUNC && symbolType !== STT_GNU_IFUNC) continue;
      const sectionIndex = symbols.readUInt16LE(at + 6);
      // Undefined symbols are imports (in a non-PIE executable they can even carry the PLT
      // address); reserved indexes (absolute, common, extended) are not code we can attribute.
      if (sectionIndex === SHN_UNDEF || sectionIndex >= SHN_LORESERVE) continue;
      const address = symbols.readBigUInt64LE(at + 8);
      if (address === 0n) continue;
      const name = readString(strings, symbols.readUInt32LE(at));
      if (name === '') continue;
      const candidate: Candidate = {
        name,
        address,
        size: symbols.readBigUInt64LE(at + 16),
        sectionIndex,
        binding: info >> 4,
        hidden: versions !== undefined && ((versions[i] ?? 0) & 0x8000) !== 0,
      };
      const current = best.get(address);
      if (!current || preferForAddress(candidate, current)) best.set(address, candidate);
      if (candidate.size > (largestSize.get(address) ?? 0n)) largestSize.set(address, candidate.size);
      const named = byName.get(name);
      if (!named || preferForName(candidate, named)) byName.set(name, candidate);
    }
  }

  const functions = [...best.values()]
    .map((c): ElfFunction => ({
      name: c.name,
      address: c.address,
      // The chosen name may come from a symbol without .size while an alias at the same address has one.
      size: c.size === 0n ? (largestSize.get(c.address) ?? 0n) : c.size,
      sectionIndex: c.sectionIndex,
    }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const plainByName = new Map<string, ElfFunction>();
  for (const [name, c] of byName) plainByName.set(name, { name, address: c.address, size: c.size, sectionIndex: c.sectionIndex });
  return { functions, byName: plainByName };
}

/** The STT_OBJECT symbols called `name` in .symtab and .dynsym, one per address (.symtab's first, it names locals too). */
async function readObjects(reader: PositionedReader, sections: ElfSection[], name: string): Promise<ElfObject[]> {
  const found = new Map<bigint, ElfObject>();
  const tables = sections.filter((s) => s.type === SHT_SYMTAB).concat(sections.filter((s) => s.type === SHT_DYNSYM));
  for (const table of tables) {
    const strtab = sections[table.link];
    if (!strtab || strtab.type !== SHT_STRTAB || table.type === SHT_NOBITS) continue;
    const symbols = await reader.read(table.offset, table.size, `symbol table ${table.name || table.index}`);
    const strings = await reader.read(strtab.offset, strtab.size, `string table ${strtab.name || strtab.index}`);
    // Compare bytes, not decoded strings: a debug .symtab has ~10 000 names and we want one.
    const wanted = Buffer.from(`${name}\0`, 'utf8');
    const count = Math.floor(symbols.length / SYMBOL_SIZE);
    for (let i = 1; i < count; i++) {
      const at = i * SYMBOL_SIZE;
      const info = symbols[at + 4]!;
      if ((info & 0xf) !== STT_OBJECT) continue;
      const sectionIndex = symbols.readUInt16LE(at + 6);
      if (sectionIndex === SHN_UNDEF || sectionIndex >= SHN_LORESERVE) continue;
      const nameOffset = symbols.readUInt32LE(at);
      if (
        nameOffset + wanted.length > strings.length ||
        strings.compare(wanted, 0, wanted.length, nameOffset, nameOffset + wanted.length) !== 0
      )
        continue;
      const address = symbols.readBigUInt64LE(at + 8);
      if (found.has(address)) continue;
      found.set(address, {
        name,
        address,
        size: symbols.readBigUInt64LE(at + 16),
        binding: info >> 4,
        table: table.type === SHT_SYMTAB ? '.symtab' : '.dynsym',
      });
    }
  }
  return [...found.values()];
}

/** The .gnu.version entries for a .dynsym, or undefined when the file has none. */
async function readVersionSymbols(reader: PositionedReader, sections: ElfSection[], dynsymIndex: number): Promise<Uint16Array | undefined> {
  const section = sections.find((s) => s.type === SHT_GNU_VERSYM && s.link === dynsymIndex);
  if (!section) return undefined;
  const bytes = await reader.read(section.offset, section.size, 'the .gnu.version table');
  const versions = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < versions.length; i++) versions[i] = bytes.readUInt16LE(i * 2);
  return versions;
}

function bindingRank(binding: number): number {
  if (binding === STB_GLOBAL || binding === STB_GNU_UNIQUE) return 0;
  if (binding === STB_WEAK) return 1;
  return 2;
}

/**
 * Which name to show for an address that several symbols share (`free`, `__libc_free`, `cfree`):
 * the public one. Global beats weak beats local; then a name without a leading underscore (the
 * reserved-namespace internal alias); then the shorter; then alphabetical, for a stable answer.
 */
function preferForAddress(a: Candidate, b: Candidate): boolean {
  const rank = bindingRank(a.binding) - bindingRank(b.binding);
  if (rank !== 0) return rank < 0;
  const underscore = Number(a.name.startsWith('_')) - Number(b.name.startsWith('_'));
  if (underscore !== 0) return underscore < 0;
  if (a.name.length !== b.name.length) return a.name.length < b.name.length;
  return a.name < b.name;
}

/** Which definition a name means when it has several: the default version (`@@`), then the strongest binding. */
function preferForName(a: Candidate, b: Candidate): boolean {
  if (a.hidden !== b.hidden) return !a.hidden;
  return bindingRank(a.binding) < bindingRank(b.binding);
}

interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

function fileIdentity(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

class LoadedElf implements ElfFile {
  constructor(
    readonly path: string,
    readonly kind: 'exec' | 'dyn' | 'other',
    readonly machine: number,
    readonly header: ElfHeader,
    readonly segments: LoadSegment[],
    readonly sections: ElfSection[],
    readonly functions: ElfFunction[],
    private readonly byName: Map<string, ElfFunction>,
    private readonly identity: FileIdentity,
  ) {}

  fileOffsetToVaddr(offset: bigint): bigint | undefined {
    // Only the file-backed part of a segment: the rest of its pages (page rounding, .bss) holds no code.
    const segment = this.segments.find((s) => offset >= s.offset && offset < s.offset + s.filesz);
    return segment ? segment.vaddr + (offset - segment.offset) : undefined;
  }

  vaddrToFileOffset(vaddr: bigint): bigint | undefined {
    const segment = this.segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    return segment ? segment.offset + (vaddr - segment.vaddr) : undefined;
  }

  async readAtVaddr(vaddr: bigint, length: number): Promise<Buffer> {
    const segment = this.segments.find((s) => vaddr >= s.vaddr && vaddr + BigInt(length) <= s.vaddr + s.filesz);
    if (!segment) throw new ElfError(this.path, `no file-backed PT_LOAD segment holds ${length} bytes at 0x${vaddr.toString(16)}`);
    return this.reopened((reader) =>
      reader.read(segment.offset + (vaddr - segment.vaddr), length, `${length} bytes at 0x${vaddr.toString(16)}`),
    );
  }

  async findObjects(name: string): Promise<ElfObject[]> {
    return this.reopened((reader) => readObjects(reader, this.sections, name));
  }

  /** Runs `use` on the file reopened, refusing a file that is no longer the one whose headers were read. */
  private async reopened<T>(use: (reader: PositionedReader) => Promise<T>): Promise<T> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      throw new ElfError(this.path, `cannot reopen: ${describeFsError(error)}`, { cause: error });
    }
    try {
      const now = fileIdentity(await handle.stat());
      const was = this.identity;
      if (now.dev !== was.dev || now.ino !== was.ino || now.size !== was.size || now.mtimeMs !== was.mtimeMs) {
        throw new ElfError(this.path, 'the file changed since its headers were read; read it again');
      }
      return await use(new PositionedReader(this.path, handle, now.size));
    } catch (error) {
      if (error instanceof ElfError) throw error;
      throw new ElfError(this.path, `cannot read: ${describeFsError(error)}`, { cause: error });
    } finally {
      await handle.close();
    }
  }

  findFunction(name: string): ElfFunction | undefined {
    return this.byName.get(name);
  }

  sectionAt(vaddr: bigint): ElfSection | undefined {
    // TLS sections (.tbss) carry template addresses that overlap the real sections after them.
    return this.sections.find(
      (s) => (s.flags & SHF_ALLOC) !== 0n && (s.flags & SHF_TLS) === 0n && s.size > 0n && vaddr >= s.addr && vaddr < s.addr + s.size,
    );
  }
}

/** A NUL-terminated string at `offset`; '' when the offset is outside the table (a corrupt symbol). */
function readString(table: Buffer, offset: number): string {
  if (offset >= table.length) return '';
  const end = table.indexOf(0, offset);
  return table.toString('utf8', offset, end === -1 ? table.length : end);
}

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e && typeof e === 'object' && 'code' in e && e.code ? `${e.code} (${e.message})` : String(error);
}
