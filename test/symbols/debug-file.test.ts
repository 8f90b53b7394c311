import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readBuildId, readDebugFile, readMiniDebugInfo } from '../../src/symbols/debug-file.js';
import { readElf } from '../../src/symbols/elf.js';
import { findFunctionAt } from '../../src/symbols/symbolizer.js';
import { file, needing } from '../helpers/needs.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

function readelfBuildId(path: string): string {
  return /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', path], { encoding: 'utf8' }))![1]!;
}

test('the build-id note reads as readelf shows it', async (t) => {
  t.is(await readBuildId(await readElf(LIBC)), readelfBuildId(LIBC));
  t.is(await readBuildId(await readElf(process.execPath)), readelfBuildId(process.execPath));
});

const libcDebug = (() => {
  const id = readelfBuildId(LIBC);
  return `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
})();

needing([file(libcDebug, 'libc6-dbg')], test)(`libc's debug file names its local functions`, async (t) => {
  const libc = await readElf(LIBC);
  t.is(libc.findFunction('__libc_start_call_main'), undefined, 'not in the stripped library');
  const debug = await readDebugFile(libc);
  t.not(debug, null);
  const local = debug!.findFunction('__libc_start_call_main');
  t.truthy(local);
  t.is(findFunctionAt(debug!, local!.address + 1n)?.name, '__libc_start_call_main');
});

test('a debug file whose build-id does not match is not used', async (t) => {
  const libc = await readElf(LIBC);
  const id = readelfBuildId(LIBC);
  const root = mkdtempSync(join(tmpdir(), 'memtrace-debug-'));
  mkdirSync(join(root, '.build-id', id.slice(0, 2)), { recursive: true });
  // Another ELF file (node) planted under libc's build-id.
  copyFileSync(process.execPath, join(root, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
  t.is(await readDebugFile(libc, root), null);
});

test('no debug file installed: null, no error', async (t) => {
  t.is(await readDebugFile(await readElf(LIBC), mkdtempSync(join(tmpdir(), 'memtrace-debug-'))), null);
});

/**
 * A stripped executable carrying MiniDebugInfo, made the way Fedora makes them (gdb's manual,
 * "MiniDebugInfo"): the local functions' symbols, in an ELF of their own compressed by xz, added as
 * .gnu_debugdata to a binary stripped of its .symtab.
 */
function buildMiniDebugInfoBinary(directory: string): string {
  const source = join(directory, 'prog.c');
  const binary = join(directory, 'prog');
  writeFileSync(
    source,
    'static __attribute__((noinline)) int local_helper(int x) { return x * 3 + 1; }\nint main(int argc, char **argv) { (void)argv; return local_helper(argc); }\n',
  );
  execFileSync('gcc', ['-O2', '-o', binary, source]);
  const functions = execFileSync('nm', ['--format=posix', '--defined-only', binary], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => / [Tt] /.test(line))
    .map((line) => line.split(' ')[0])
    .join('\n');
  writeFileSync(join(directory, 'funcs'), `${functions}\n`);
  execFileSync('objcopy', ['--only-keep-debug', binary, join(directory, 'debug')]);
  execFileSync('objcopy', [
    '-S',
    '--remove-section',
    '.gdb_index',
    '--remove-section',
    '.comment',
    `--keep-symbols=${join(directory, 'funcs')}`,
    join(directory, 'debug'),
    join(directory, 'mini'),
  ]);
  execFileSync('xz', ['--keep', join(directory, 'mini')]);
  execFileSync('strip', ['--strip-all', binary]);
  execFileSync('objcopy', ['--add-section', `.gnu_debugdata=${join(directory, 'mini.xz')}`, binary]);
  return binary;
}

test('MiniDebugInfo (.gnu_debugdata) names the local functions a stripped binary lost', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-minidebug-test-'));
  const binary = await readElf(buildMiniDebugInfoBinary(directory));
  t.is(binary.findFunction('local_helper'), undefined, "stripped: not in the binary's own tables");
  const mini = await readMiniDebugInfo(binary);
  t.not(mini, null);
  const local = mini!.findFunction('local_helper');
  t.truthy(local, 'named by the MiniDebugInfo');
  t.is(findFunctionAt(mini!, local!.address + 1n)?.name, 'local_helper');
});

test('no .gnu_debugdata, or one xz cannot read, is no MiniDebugInfo', async (t) => {
  t.is(await readMiniDebugInfo(await readElf(process.execPath)), null);
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-minidebug-test-'));
  const binary = await readElf(buildMiniDebugInfoBinary(directory));
  t.is(await readMiniDebugInfo(binary, join(directory, 'no-such-xz')), null, 'xz missing');
  t.is(await readMiniDebugInfo(binary, 'false'), null, 'xz failing');
});
