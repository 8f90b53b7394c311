import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readBuildId, readDebugFile } from '../../src/symbols/debug-file.js';
import { readElf } from '../../src/symbols/elf.js';
import { findFunctionAt } from '../../src/symbols/symbolizer.js';

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

(existsSync(libcDebug) ? test : test.skip)(`libc's debug file names its local functions (needs libc6-dbg: ${libcDebug})`, async (t) => {
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
