// test/suites.mjs, which decides which test files may run at once: every file it names exists (a
// renamed file must not fall silently into another pass), and every test file runs in exactly one
// of npm test's three passes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { ROOT } from '../helpers/workloads.js';

interface Suites {
  PURE: string[];
  NOT_PURE: string[];
  QUIET: string[];
  PAIRED: string[];
  inPureFolder(file: string): boolean;
  passesNaming(file: string): string[];
  testFiles(root: string): string[];
}

const suites = (await import(pathToFileURL(join(ROOT, 'test/suites.mjs')).href)) as Suites;

const { inPureFolder } = suites;

test('every file test/suites.mjs names exists', (t) => {
  for (const file of [...suites.NOT_PURE, ...suites.QUIET, ...suites.PAIRED]) t.true(existsSync(join(ROOT, file)), file);
});

test('every test file runs in exactly one pass', (t) => {
  const files = suites.testFiles(ROOT);
  t.true(files.length > 100);
  for (const file of files) {
    const passes = suites.passesNaming(file);
    t.true(passes.length <= 1, `${file}: in ${passes.join(' and ')}`);
  }
  for (const file of [...suites.QUIET, ...suites.PAIRED])
    t.false(inPureFolder(file) && !suites.NOT_PURE.includes(file), `${file} is already pure`);
  for (const file of suites.NOT_PURE) t.true(inPureFolder(file), `${file} is in NOT_PURE but not under a PURE folder`);
});
