import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { TargetError } from '../../src/errors.js';
import { locateGlibcMalloc, MAIN_ARENA_SIZE } from '../../src/symbols/glibc-malloc.js';
import { readProcMaps } from '../../src/symbols/proc-maps.js';
import { file, needing } from '../helpers/needs.js';
import { compileFixture, makeTemporaryDirectory, startTarget, SYSTEM_LIBC } from './helpers.js';

const temporary = makeTemporaryDirectory('glibc-malloc');
test.after.always(temporary.cleanup);

function readelfBuildId(path: string): string {
  return /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', path], { encoding: 'utf8' }))![1]!;
}
const buildId = readelfBuildId(SYSTEM_LIBC);
const libcDebug = `/usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
const withDebugFile = needing([file(libcDebug, 'libc6-dbg')], test);

/** readelf's value and size of a symbol of libc's debug file. */
function debugSymbol(name: string): { value: bigint; size: bigint } {
  // stderr ignored: readelf complains that a debug file has no program interpreter.
  const line = execFileSync('readelf', ['-sW', libcDebug], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .find((candidate) => candidate.trim().split(/\s+/)[7] === name)!;
  const fields = line.trim().split(/\s+/);
  return { value: BigInt(`0x${fields[1]}`), size: BigInt(fields[2]!) };
}

withDebugFile('this node process: main_arena and mp_ where the debug file and the load address put them, glibc 2.x', async (t) => {
  const found = await locateGlibcMalloc(process.pid);
  if (!found.ok) return t.fail(found.message);
  const maps = await readProcMaps(process.pid);
  const base = maps.find((m) => m.path.endsWith('/libc.so.6') && m.offset === 0n)!.start;
  t.is(found.loadBias, base, "libc's first PT_LOAD is at address 0 and file offset 0");
  t.is(found.mainArena, base + debugSymbol('main_arena').value);
  t.is(debugSymbol('main_arena').size, MAIN_ARENA_SIZE);
  t.is(found.mp, base + debugSymbol('mp_').value);
  t.is(found.buildId, buildId);
  t.is(found.debugPath, libcDebug);
  t.is(
    found.version,
    execFileSync('getconf', ['GNU_LIBC_VERSION'], { encoding: 'utf8' })
      .trim()
      .replace(/^glibc /, ''),
  );
  t.is(found.layout, 'glibc-2.26-x86_64');
  t.deepEqual(found.notes, []);
});

test('a static binary has no glibc to read', async (t) => {
  const binary = compileFixture('symbolize-target.c', join(temporary.dir, 'static'), ['-static']);
  const target = await startTarget(binary);
  try {
    const found = await locateGlibcMalloc(target.pid);
    t.like(found, { ok: false, problem: 'no-glibc' });
    t.regex(!found.ok ? found.message : '', /maps no glibc \(libc\.so\.6\): a static binary/);
  } finally {
    target.stop();
  }
});

test('without the debug file the answer says to install libc6-dbg', async (t) => {
  const emptyRoot = mkdtempSync(join(tmpdir(), 'memtrace-no-debug-'));
  const found = await locateGlibcMalloc(process.pid, { debugRoot: emptyRoot });
  t.like(found, { ok: false, problem: 'no-debug-file' });
  t.regex(!found.ok ? found.message : '', new RegExp(`build-id ${buildId}.*install libc6-dbg`));
});

test('a process that does not exist is a TargetError', async (t) => {
  await t.throwsAsync(locateGlibcMalloc(4_194_304 + 1), { instanceOf: TargetError, message: /has exited/ });
});
