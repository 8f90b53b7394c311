// test/suites.mjs, which decides which test files may run at once: every file it names exists (a
// renamed file must not fall silently into another pass), and every test file runs in exactly one
// of npm test's three passes.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { ROOT } from '../helpers/workloads.js';

interface Suites {
  PURE: string[];
  NOT_PURE: string[];
  QUIET: string[];
  PAIRED: string[];
}

const suites = (await import(pathToFileURL(join(ROOT, 'test/suites.mjs')).href)) as Suites;

function testFiles(directory = join(ROOT, 'test')): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' || name === 'workloads' ? [] : testFiles(path);
    return name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  });
}

/** PURE's entries are whole folders ('test/parse/**\/*.test.ts'). */
function inPureFolder(file: string): boolean {
  return suites.PURE.some((glob) => {
    const folder = /^(test\/[\w-]+\/)\*\*\/\*\.test\.ts$/.exec(glob);
    if (folder === null) throw new Error(`a PURE entry that is not a folder's glob: ${glob}`);
    return file.startsWith(folder[1]!);
  });
}

test('every file test/suites.mjs names exists', (t) => {
  for (const file of [...suites.NOT_PURE, ...suites.QUIET, ...suites.PAIRED]) t.true(existsSync(join(ROOT, file)), file);
});

test('every test file runs in exactly one pass', (t) => {
  const files = testFiles();
  t.true(files.length > 100);
  for (const file of files) {
    const passes = [
      (inPureFolder(file) && !suites.NOT_PURE.includes(file)) || suites.QUIET.includes(file) ? 'all cores' : null,
      suites.PAIRED.includes(file) ? 'paired' : null,
    ].filter((pass) => pass !== null);
    t.true(passes.length <= 1, `${file}: in ${passes.join(' and ')}`);
  }
  for (const file of [...suites.QUIET, ...suites.PAIRED])
    t.false(inPureFolder(file) && !suites.NOT_PURE.includes(file), `${file} is already pure`);
  for (const file of suites.NOT_PURE) t.true(inPureFolder(file), `${file} is in NOT_PURE but not under a PURE folder`);
});
