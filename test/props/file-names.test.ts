// File names with spaces, newlines, tabs, quotes, shell syntax, unicode and a leading `-`, as the
// input and as the outputs of `memtrace report`, through the real command line (bin/memtrace.js,
// built into dist/ by `npx tsc -p tsconfig.json`). The property: the report is the same as under a
// plain name, the outputs land under the exact names given, and an error names the file readably
// (as it is, or JSON-quoted when it holds a control character such as a newline).
//
// A name starting with `-` is given after `--` (the input) or as `--output=-x` (an output), as for
// every Unix tool; `-o -x` is refused by the option parser, which says so.
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the assert's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/file-names.test.ts`.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import fc from 'fast-check';
import { readablePath } from '../../src/errors.js';
import { memtraceAuto } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const FIXTURE = `${ROOT}test/fixtures/bpftrace/debian12-0.17/malloc-known-allocs.text.txt`;
const directory = mkdtempSync(`${tmpdir()}/memtrace-props-names-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const NAMES = [
  'a b.txt',
  'line\nbreak.txt',
  'tab\there.txt',
  '-dash.txt',
  '--double.txt',
  'ünïcödé 日本語 🧠.txt',
  `quote'"$(id)\`x\`;&|.txt`,
  ' leading and trailing space ',
  'back\\slash.txt',
  'esc\u001b[31mred.txt',
];

/** The folded report under a plain name: what every other name must give. */
let plainFolded = '';
test.before(async () => {
  copyFileSync(FIXTURE, `${directory}/plain.txt`);
  const result = await memtraceAuto(['report', '-f', 'folded', `${directory}/plain.txt`], { stripFinalNewline: false });
  if (result.exitCode !== 0) throw new Error(`plain report failed: ${String(result.stderr)}`);
  plainFolded = String(result.stdout);
});

let counter = 0;
async function reportUnder(name: string): Promise<string | null> {
  const folder = `${directory}/case-${counter++}`;
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder);
  copyFileSync(FIXTURE, `${folder}/${name}`);
  // Relative names, from the folder: a leading "-" is then the first character the parser sees.
  const result = await memtraceAuto(['report', `--output=${name}.folded`, `--output=${name}.svg`, '--', name], { cwd: folder });
  if (result.exitCode !== 0) return `exit ${result.exitCode}: ${String(result.stderr)}`;
  if (!existsSync(`${folder}/${name}.folded`) || !existsSync(`${folder}/${name}.svg`)) return 'an output is missing';
  if (readFileSync(`${folder}/${name}.folded`, 'utf8') !== plainFolded) return "the folded report differs from the plain name's";
  return null;
}

for (const name of NAMES) {
  test(`input and outputs named ${JSON.stringify(name)}: the same report, under the exact names`, async (t) => {
    t.is(await reportUnder(name), null);
  });
}

test('arbitrary file names: the same report, under the exact names', async (t) => {
  // Any bytes a Linux file name may hold: not "/", not NUL, not "." or "..", at most 200 bytes with the suffixes.
  const fileName = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
    .filter((name) => !name.includes('/') && !name.includes('\0') && name !== '.' && name !== '..' && Buffer.byteLength(name) < 200);
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(fileName, async (name) => {
        const failure = await reportUnder(name);
        if (failure !== null) throw new Error(failure);
      }),
      { seed: 0x6e616d, numRuns: 12, includeErrorInReport: true },
    ),
  );
});

test('a broken log named with a newline: the ParseError names it JSON-quoted, on one line', async (t) => {
  const path = `${directory}/bad\nname.json`;
  writeFileSync(path, '{\n  "tool": "malloc",\n');
  const result = await memtraceAuto(['report', '-i', 'malloc-json', path]);
  t.is(result.exitCode, 3);
  t.is(
    String(result.stderr).split('\n')[0],
    `memtrace: ${JSON.stringify(path)}:3: not valid memtrace malloc json report: expected valid JSON (is the file cut short?)`,
  );
});

test('an unreadable and an unrecognised log named with a newline are named JSON-quoted', async (t) => {
  const missing = `${directory}/no\nsuch.log`;
  t.is(
    String((await memtraceAuto(['report', missing])).stderr).split('\n')[0],
    `memtrace: cannot read ${JSON.stringify(missing)}: no such file, or not readable`,
  );
  const garbage = `${directory}/not\ta log.log`;
  writeFileSync(garbage, 'garbage\n');
  t.true(
    String((await memtraceAuto(['report', garbage])).stderr).startsWith(
      `memtrace: ${readablePath(garbage)}: not a log memtrace report reads`,
    ),
  );
  t.is(readablePath(garbage), JSON.stringify(garbage));
  t.is(readablePath(`${directory}/a b ü.log`), `${directory}/a b ü.log`);
});

test('an output name starting with "-" given as -o is refused with the way to give it', async (t) => {
  const result = await memtraceAuto(['report', '-o', '-x.folded', FIXTURE]);
  t.is(result.exitCode, 2);
  t.regex(String(result.stderr), /use '--output=-XYZ' or '-o-XYZ'/);
});
