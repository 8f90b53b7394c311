// Perf maps (/tmp/perf-PID.map, src/symbols/perf-map.ts) with malformed lines: missing fields,
// non-hex, negative and too-long numbers, overlapping ranges, CRLF endings, a truncated last line.
// The property: the reader never throws; it counts every line, counts every malformed one (and
// only those) in malformedLines, keeps every well-formed non-empty entry; a lookup never throws and
// returns the entry written last among those holding the address; and loadJsSymbols (what a trace
// calls) names the count of skipped lines in its notes: skipped, never silently.
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the assert's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/perf-maps.test.ts`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import fc from 'fast-check';
import { PerfMap, readPerfMap } from '../../src/symbols/perf-map.js';
import { MappingHistory } from '../../src/symbols/proc-maps.js';
import { loadJsSymbols } from '../../src/tools/common/js-frames.js';

const directory = mkdtempSync(`${tmpdir()}/memtrace-props-perf-maps-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

interface Entry {
  start: bigint;
  size: bigint;
  name: string;
}

const hex = (value: bigint): string => value.toString(16);
const entryArbitrary: fc.Arbitrary<Entry> = fc.record({
  // Starts in a small window so that ranges overlap often.
  start: fc.bigInt({ min: 0x1000n, max: 0x1400n }),
  size: fc.oneof(fc.bigInt({ min: 0n, max: 0x200n }), fc.constant(0xffffffffffffffffn)),
  name: fc.oneof(
    fc.constantFrom(
      'JS:~f file:///a b/c.js:1:2',
      'JS:*$ file:///x.js:3:4',
      'Builtin:ArgumentsAdaptorTrampoline',
      'py::main:/srv/app.py',
      'JS:^ñandú <anonymous>:1:1',
    ),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map((name) => `x${name.replace(/[\r\n]/g, '')}`),
  ),
});

const malformedArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '7f00',
    '7f00 10',
    '7f00  10 name',
    'zz 10 name',
    '7f00 -10 name',
    '-7f00 10 name',
    '0x7f00 10 name',
    '7f00 0x10 name',
    '12345678901234567 10 name',
    '7f00 12345678901234567 name',
    ' 7f00 10 name',
    '7f00\t10\tname',
    '7f00 10 ',
    '7f00 10  ',
  ),
  fc.tuple(fc.bigInt({ min: 0n, max: 0xffffn }), fc.bigInt({ min: 0n, max: 0xffffn })).map(([start, size]) => `${hex(start)} ${hex(size)}`),
);

type Line = { kind: 'entry'; entry: Entry } | { kind: 'malformed'; text: string } | { kind: 'blank' };
const lineArbitrary: fc.Arbitrary<Line> = fc.oneof(
  { weight: 4, arbitrary: entryArbitrary.map((entry) => ({ kind: 'entry' as const, entry })) },
  { weight: 2, arbitrary: malformedArbitrary.map((text) => ({ kind: 'malformed' as const, text })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
);
const render = (line: Line): string =>
  line.kind === 'entry'
    ? `${hex(line.entry.start)} ${hex(line.entry.size)} ${line.entry.name}`
    : line.kind === 'malformed'
      ? line.text
      : '';

/** The entry a lookup must return: the last written whose [start, start + size) holds the address. */
function expected(lines: readonly Line[], address: bigint): Entry | undefined {
  let found: Entry | undefined;
  for (const line of lines)
    if (line.kind === 'entry' && line.entry.size > 0n && line.entry.start <= address && address < line.entry.start + line.entry.size)
      found = line.entry;
  return found;
}

let counter = 0;

test('a perf map with malformed lines, CRLF or a cut last line: counted, skipped, and lookups stay right', async (t) => {
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(
        fc.array(lineArbitrary, { minLength: 0, maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.bigInt({ min: 0xf00n, max: 0x1700n }), { minLength: 1, maxLength: 10 }),
        async (lines, newline, finalNewline, addresses) => {
          const path = `${directory}/perf-${counter++}.map`;
          const text = lines.map(render).join(newline) + (finalNewline && lines.length > 0 ? newline : '');
          writeFileSync(path, text);
          // What readline yields: no line for an empty file, none after a final newline.
          const lineCount = text === '' ? 0 : text.split(newline).length - (text.endsWith(newline) ? 1 : 0);
          const map = await readPerfMap(path);
          const malformed = lines.filter((line) => line.kind === 'malformed').length;
          if (map.malformedLines !== malformed) throw new Error(`malformedLines ${map.malformedLines}, expected ${malformed}`);
          if (map.lines !== lineCount) throw new Error(`lines ${map.lines}, expected ${lineCount}`);
          const kept = lines.filter((line) => line.kind === 'entry' && line.entry.size > 0n).length;
          if (map.size !== kept) throw new Error(`${map.size} entries, expected ${kept}`);
          for (const address of addresses) {
            const want = expected(lines, address);
            const got = map.find(address);
            if (got?.name !== want?.name || got?.start !== want?.start)
              throw new Error(`find(0x${hex(address)}): ${got?.name} at ${got?.start}, expected ${want?.name} at ${want?.start}`);
          }
          const symbols = await loadJsSymbols(4_194_304, new MappingHistory(), { located: path, launchedWithFlags: true });
          const note = symbols.notes.find((text) => text.includes('malformed lines'));
          if (malformed > 0 ? note !== `${malformed} malformed lines of the perf map ${path} were skipped` : note !== undefined)
            throw new Error(`notes: ${JSON.stringify(symbols.notes)}`);
        },
      ),
      { seed: 0x706d61, numRuns: 300, includeErrorInReport: true },
    ),
  );
});

test('arbitrary bytes as a perf map: push never throws, and every non-blank line is an entry or counted', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 30 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n }),
        (lines, address) => {
          const map = new PerfMap();
          for (const line of lines) map.push(line);
          const blank = lines.filter((line) => line.trim() === '').length;
          if (map.lines !== lines.length) throw new Error('lines miscounted');
          if (map.size + map.malformedLines > lines.length - blank) throw new Error('more entries than lines');
          map.find(address);
        },
      ),
      { seed: 0x706d62, numRuns: 500, includeErrorInReport: true },
    ),
  );
});

test('a perf-map name holding U+2028 is an entry, not a malformed line (regression)', (t) => {
  const map = new PerfMap();
  map.push('1000 10 JS:~f file:///a\u2028b.js:1:1');
  t.deepEqual([map.size, map.malformedLines, map.find(0x1008n)?.name], [1, 0, 'JS:~f file:///a\u2028b.js:1:1']);
});
