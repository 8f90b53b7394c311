import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findFreeBody, writeAliasedCopy, type ElfAlias } from '../../src/symbols/elf-alias.js';
import { EM_AARCH64, EM_X86_64, ElfError, readElf, type ElfFile } from '../../src/symbols/elf.js';
import { compileFixture, makeTemporaryDirectory, SYSTEM_LIBC } from './helpers.js';
import { LIVE_BPFTRACE, LIVE_PROBLEM } from '../helpers/live.js';
import { gated } from '../helpers/gate.js';

const temporary = makeTemporaryDirectory('elf-alias');
test.after.always(temporary.cleanup);

// ---- findFreeBody on hand-written prologues -------------------------------------------------------

/** An ElfFile whose only function `free` is `code` at 0x1000; only what findFreeBody uses is real. */
function fakeElf(code: number[], options: { machine?: number; size?: bigint } = {}): ElfFile {
  const bytes = Buffer.from(code);
  const free = { name: 'free', address: 0x1000n, size: options.size ?? BigInt(bytes.length), sectionIndex: 1 };
  return {
    path: '/fake/libc.so.6',
    kind: 'dyn',
    machine: options.machine ?? EM_X86_64,
    header: { type: 3, phoff: 64n, phnum: 0, shoff: 0n, shnum: 0, shstrndx: 0, extendedNumbering: false },
    segments: [{ vaddr: 0x1000n, offset: 0x1000n, filesz: BigInt(bytes.length), memsz: BigInt(bytes.length), flags: 5 }],
    sections: [],
    functions: [free],
    fileOffsetToVaddr: (offset) => offset,
    vaddrToFileOffset: (vaddr) => vaddr,
    readAtVaddr: async (vaddr, length) => {
      const start = Number(vaddr - 0x1000n);
      if (start < 0 || start + length > bytes.length) throw new ElfError('/fake/libc.so.6', 'outside');
      return bytes.subarray(start, start + length);
    },
    findFunction: (name) => (name === 'free' ? free : undefined),
    sectionAt: () => undefined,
    findObjects: async () => [],
  };
}

const padding = (count: number) => Array.from({ length: count }, () => 0x90);

const recognised = test.macro(async (t, code: number[], expected: { bodyOffset: number; nullReturnOffset: number | null } | null) => {
  t.deepEqual(await findFreeBody(fakeElf(code)), expected);
});

// glibc 2.36: test rdi,rdi; je rel32 (+0xbf from the push, to a ret); push rbp.
const glibc236 = [0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55, ...padding(0xbf - 1), 0xc3, ...padding(8)];
test('je rel32 then push %rbp, je to a ret (glibc 2.36)', recognised, glibc236, { bodyOffset: 9, nullReturnOffset: 0xc8 });
test('je rel8 then push %rbx', recognised, [0x48, 0x85, 0xff, 0x74, 0x03, 0x53, 0x90, 0x90, 0xc3, ...padding(4)], {
  bodyOffset: 5,
  nullReturnOffset: 8,
});
test('je rel8 then push %r12', recognised, [0x48, 0x85, 0xff, 0x74, 0x04, 0x41, 0x54, 0x90, 0x90, 0xc3, ...padding(4)], {
  bodyOffset: 5,
  nullReturnOffset: 9,
});
test('je target that is not a ret', recognised, [0x48, 0x85, 0xff, 0x74, 0x03, 0x55, 0x90, 0x90, 0x31, 0xc0, 0xc3, ...padding(2)], {
  bodyOffset: 5,
  nullReturnOffset: null,
});
test('je target outside the function', recognised, [0x48, 0x85, 0xff, 0x74, 0x7f, 0x55, ...padding(8)], {
  bodyOffset: 5,
  nullReturnOffset: null,
});
test('41 58 is pop %r8, not a push', recognised, [0x48, 0x85, 0xff, 0x74, 0x03, 0x41, 0x58, ...padding(8)], null);
test('jne instead of je', recognised, [0x48, 0x85, 0xff, 0x75, 0x03, 0x55, ...padding(8)], null);
test('no NULL check (endbr64 first)', recognised, [0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x74, 0x03, 0x55, ...padding(4)], null);
test('a function shorter than the prologue', recognised, [0x48, 0x85, 0xff, 0x74, 0x00], null);

test('findFreeBody: not x86_64, or no such function', async (t) => {
  t.is(await findFreeBody(fakeElf(glibc236, { machine: EM_AARCH64 })), null);
  t.is(await findFreeBody(fakeElf(glibc236), 'cfree'), null);
});

test('findFreeBody on the system libc agrees with objdump', async (t) => {
  const elf = await readElf(SYSTEM_LIBC);
  const free = elf.findFunction('free')!;
  const disassembly = execFileSync(
    'objdump',
    [
      '-d',
      '--no-show-raw-insn',
      `--start-address=0x${free.address.toString(16)}`,
      `--stop-address=0x${(free.address + free.size).toString(16)}`,
      SYSTEM_LIBC,
    ],
    { encoding: 'utf8' },
  );
  const instructions = [...disassembly.matchAll(/^\s+([0-9a-f]+):\s+(\S+)\s*(\S*)/gm)].map((m) => ({
    offset: Number(BigInt(`0x${m[1]}`) - free.address),
    mnemonic: m[2]!,
    operand: m[3]!,
  }));
  t.is(`${instructions[0]!.mnemonic} ${instructions[0]!.operand}`, 'test %rdi,%rdi');
  t.is(instructions[1]!.mnemonic, 'je');
  t.is(instructions[2]!.mnemonic, 'push');
  const jeTarget = Number(BigInt(`0x${instructions[1]!.operand}`) - free.address);
  t.is(instructions.find((i) => i.offset === jeTarget)?.mnemonic, 'ret');
  t.deepEqual(await findFreeBody(elf), { bodyOffset: instructions[2]!.offset, nullReturnOffset: jeTarget });
});

// ---- writeAliasedCopy on the system libc ----------------------------------------------------------

/** The aliases memtrace gives libc: the push after free's NULL check, and the ret of free(NULL). */
async function freeAliases(): Promise<ElfAlias[]> {
  const elf = await readElf(SYSTEM_LIBC);
  const free = elf.findFunction('free')!;
  const body = (await findFreeBody(elf))!;
  const aliases: ElfAlias[] = [
    { name: 'memtrace_free_body', address: free.address + BigInt(body.bodyOffset), size: free.size - BigInt(body.bodyOffset) },
  ];
  if (body.nullReturnOffset !== null)
    aliases.push({ name: 'memtrace_free_null', address: free.address + BigInt(body.nullReturnOffset), size: 1n });
  return aliases;
}

const copyDir = join(temporary.dir, 'lib');
const copyPath = join(copyDir, 'libc.so.6');
const copyReady = (async () => {
  mkdirSync(copyDir);
  const aliases = await freeAliases();
  await writeAliasedCopy(SYSTEM_LIBC, copyPath, aliases);
  return aliases;
})();

// e_shoff (8 bytes at 0x28), e_shnum (2 at 0x3c), e_shstrndx (2 at 0x3e): inside the first PT_LOAD,
// because the ELF header is mapped, but read by nothing at run time.
const PATCHED_HEADER_BYTES = new Set([0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x3c, 0x3d, 0x3e, 0x3f]);

test('the copy keeps every byte of the original except e_shoff, e_shnum and e_shstrndx', async (t) => {
  await copyReady;
  const original = readFileSync(SYSTEM_LIBC);
  const copy = readFileSync(copyPath);
  t.true(copy.length > original.length);
  const changed: number[] = [];
  for (let i = 0; i < original.length; i++) if (original[i] !== copy[i]) changed.push(i);
  t.true(
    changed.every((i) => PATCHED_HEADER_BYTES.has(i)),
    `unexpected changed bytes at ${changed.filter((i) => !PATCHED_HEADER_BYTES.has(i))}`,
  );
  // So every PT_LOAD's bytes are identical once the ELF header is set aside.
  const elf = await readElf(SYSTEM_LIBC);
  for (const segment of elf.segments) {
    const range = [Number(segment.offset), Number(segment.offset + segment.filesz)] as const;
    const a = Buffer.from(original.subarray(...range));
    const b = Buffer.from(copy.subarray(...range));
    for (const i of PATCHED_HEADER_BYTES) if (i >= range[0] && i < range[1]) a[i - range[0]] = b[i - range[0]] = 0;
    t.true(a.equals(b), `PT_LOAD at offset 0x${segment.offset.toString(16)} differs`);
  }
  t.deepEqual((await readElf(copyPath)).segments, elf.segments);
  t.is(statSync(copyPath).mode & 0o777, 0o755);
});

test('the aliases read back through readElf, nm and readelf', async (t) => {
  const aliases = await copyReady;
  t.deepEqual(
    aliases.map((a) => a.name),
    ['memtrace_free_body', 'memtrace_free_null'],
  );
  const copy = await readElf(copyPath);
  const original = await readElf(SYSTEM_LIBC);
  const text = original.sections.find((s) => s.name === '.text')!;
  for (const alias of aliases) {
    t.deepEqual(copy.findFunction(alias.name), { name: alias.name, address: alias.address, size: alias.size, sectionIndex: text.index });
  }
  // Every original function is still there, plus the two aliases.
  t.is(copy.functions.length, original.functions.length + 2);
  t.deepEqual(copy.findFunction('free'), original.findFunction('free'));

  const hex = (value: bigint) => value.toString(16).padStart(16, '0');
  t.is(execFileSync('nm', [copyPath], { encoding: 'utf8' }), aliases.map((a) => `${hex(a.address)} T ${a.name}\n`).join(''));
  const symtab = execFileSync('readelf', ['-sW', copyPath], { encoding: 'utf8' }).split("Symbol table '.symtab'")[1]!;
  t.regex(
    symtab,
    new RegExp(`1: ${hex(aliases[0]!.address)}\\s+${aliases[0]!.size} FUNC\\s+GLOBAL DEFAULT\\s+${text.index} memtrace_free_body`),
  );
  t.regex(symtab, new RegExp(`2: ${hex(aliases[1]!.address)}\\s+1 FUNC\\s+GLOBAL DEFAULT\\s+${text.index} memtrace_free_null`));
});

test('a program runs with the copy as its libc', async (t) => {
  await copyReady;
  const program = compileFixture('frees-23.c', join(temporary.dir, 'frees-23'));
  const env = { ...process.env, LD_LIBRARY_PATH: copyDir };
  t.regex(execFileSync('ldd', [program], { encoding: 'utf8', env }), new RegExp(`libc\\.so\\.6 => ${copyPath} \\(`));
  const run = spawnSync(program, { encoding: 'utf8', env });
  t.is(run.status, 0);
  t.is(run.stdout, 'done\n');
});

test('refuses a source that already has a .symtab', async (t) => {
  const program = compileFixture('frees-23.c', join(temporary.dir, 'with-symtab'));
  const destination = join(temporary.dir, 'never-written');
  const error = await t.throwsAsync(writeAliasedCopy(program, destination, [{ name: 'memtrace_x', address: 0x1000n, size: 1n }]), {
    instanceOf: ElfError,
  });
  t.regex(error!.message, /already has a \.symtab; appending a second one is not safe/);
  t.false(existsSync(destination));
});

const badAliases = test.macro(async (t, alias: ElfAlias, expected: RegExp) => {
  const [good] = await freeAliases();
  const destination = join(temporary.dir, `bad-${alias.name.replace(/\W/g, '_')}`);
  await t.throwsAsync(writeAliasedCopy(SYSTEM_LIBC, destination, [good!, alias]), { message: expected });
  t.false(existsSync(destination));
  t.deepEqual(
    readdirSync(temporary.dir).filter((name) => name.endsWith('.tmp')),
    [],
  );
});

test(
  'an alias name that is not an identifier',
  badAliases,
  { name: 'free+9', address: 0x98ef9n, size: 1n },
  /alias name "free\+9" must match/,
);
test(
  'an alias of size 0',
  badAliases,
  { name: 'memtrace_zero', address: 0x98ef9n, size: 0n },
  /size must be positive \(bpftrace refuses size-0 symbols\)/,
);
test(
  'an alias outside executable code',
  badAliases,
  { name: 'memtrace_data', address: 0x10n, size: 1n },
  /is not inside one executable section/,
);
test(
  'a duplicate alias name',
  badAliases,
  { name: 'memtrace_free_body', address: 0x98ef9n, size: 1n },
  /alias memtrace_free_body is given twice/,
);

// ---- the point of it all: bpftrace probes the aliases ---------------------------------------------

const TRACEFS_PROBLEM = existsSync('/sys/kernel/tracing/uprobe_events')
  ? null
  : 'no tracefs at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing)';
const liveTest = gated(LIVE_PROBLEM ?? TRACEFS_PROBLEM, { base: test });

liveTest('bpftrace counts exactly the 23 non-NULL frees on memtrace_free_body and the 5 NULL ones on memtrace_free_null', async (t) => {
  await copyReady;
  const program = compileFixture('frees-23.c', join(temporary.dir, 'frees-23-bpf'));
  const script = [
    `uprobe:${copyPath}:memtrace_free_body /pid == cpid/ { @body = count(); }`,
    `uprobe:${copyPath}:memtrace_free_null /pid == cpid/ { @null = count(); }`,
    `uprobe:${copyPath}:free /pid == cpid/ { @entry = count(); }`,
  ].join('\n');
  // env(1) sets LD_LIBRARY_PATH for the target only (bpftrace itself keeps the system libc); bpftrace
  // wants a full path, since on a merged-/usr system "env" matches both /bin/env and /usr/bin/env.
  const run = spawnSync(LIVE_BPFTRACE, ['-e', script, '-c', `/usr/bin/env LD_LIBRARY_PATH=${copyDir} ${program}`], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  t.is(run.status, 0, run.stderr);
  const counts = Object.fromEntries([...run.stdout.matchAll(/^@(\w+): (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  t.deepEqual(counts, { body: 23, entry: 28, null: 5 });
});
