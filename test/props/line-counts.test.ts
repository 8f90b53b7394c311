// Every reader of bpftrace and DTrace output stands in one line shell (src/parse/line-shell.ts) and
// counts what it passes over in one LineCounts (malformed, foreign). The property: N foreign lines
// inserted anywhere after the first two lines of a real log, read leniently, are all counted (as
// foreign, or as malformed where they break a record): none is dropped silently. Where a report
// shows the counts is the readers' callers' business (docs/reliability/hostile-input.md).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import fc from 'fast-check';
import type { LineCounts } from '../../src/model/line-counts.js';
import { readBpftraceMaps } from '../../src/parse/bpftrace-maps.js';
import { CallsLogParser } from '../../src/parse/calls-log.js';
import { DtraceAggregationReader } from '../../src/parse/dtrace-aggregation.js';
import { FaultsLogParser } from '../../src/parse/faults-log.js';
import { GcLogParser } from '../../src/parse/gc-log.js';
import { MallocDtraceParser } from '../../src/parse/malloc-dtrace.js';
import { MallocLogParser } from '../../src/parse/malloc-log.js';
import { PyMallocDtraceParser } from '../../src/parse/pymalloc-dtrace.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(`${tmpdir()}/memtrace-props-line-counts-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;

type Read = (lines: string[]) => Promise<LineCounts>;

/** A line-at-a-time reader: pushed every line, then finished. */
function pushed<P extends { push(line: string): unknown }>(make: () => P, counts: (parser: P) => LineCounts): Read {
  return async (lines) => {
    const parser = make();
    for (const line of lines) parser.push(line);
    return counts(parser);
  };
}

const source = { source: 'log', lenient: true };
/** The counts a reader always sets (optional in GcRaw and BpftraceMaps only for values made by hand). */
function set(lines: LineCounts | undefined): LineCounts {
  if (lines === undefined) throw new Error('the reader left its line counts unset');
  return lines;
}
const READERS: Array<[string, string[], Read]> = [
  [
    'malloc',
    ['bpftrace/debian12-0.17/malloc-known-allocs.text.txt', 'bpftrace/debian12-0.17/malloc-raw-launch.ndjson'],
    pushed(
      () => new MallocLogParser(source),
      (parser) => parser.finish().raw.lines,
    ),
  ],
  [
    'faults',
    ['bpftrace/debian12-0.17/faults-touch-pages.text.txt', 'bpftrace/debian12-0.17/faults-raw-attach.ndjson'],
    pushed(
      () => new FaultsLogParser(source),
      (parser) => parser.finish().raw.lines,
    ),
  ],
  [
    'gc',
    ['bpftrace/debian12-0.17/gc-forced-23.text.txt', 'bpftrace/debian12-0.17/gc-raw-launch.ndjson'],
    pushed(
      () => new GcLogParser({ file: 'log', lenient: true }),
      (parser) => set(parser.finish().lines),
    ),
  ],
  [
    'calls',
    ['bpftrace/debian12-0.17/calls-grow.text.txt', 'bpftrace/debian12-0.17/calls-touch-pages.raw.ndjson'],
    pushed(
      () => new CallsLogParser({ file: 'log', lenient: true }),
      (parser) => parser.finish().lines ?? { malformed: 0, foreign: 0 },
    ),
  ],
  [
    'bpftrace maps',
    ['bpftrace/debian12-0.17/maps-malloc.text.txt', 'bpftrace/debian12-0.17/maps-malloc-keys.json.ndjson'],
    async (lines) => {
      const path = `${directory}/maps-${counter++}.txt`;
      writeFileSync(path, `${lines.join('\n')}\n`);
      return set((await readBpftraceMaps(path, { lenient: true })).lines);
    },
  ],
  [
    'dtrace aggregations',
    ['dtrace/aggregation-ustack-count.txt', 'dtrace/aggregation-stack-quantize.txt'],
    pushed(
      () => new DtraceAggregationReader(source),
      (parser) => parser.finish().lines,
    ),
  ],
  [
    'malloc-dtrace',
    ['dtrace/malloc-known.txt', 'dtrace/linux-2.0.7/malloc-known-allocs.raw.txt'],
    pushed(
      () => new MallocDtraceParser(source),
      (parser) => parser.finish().raw.lines,
    ),
  ],
  [
    'pymalloc-dtrace',
    ['dtrace/pymalloc-grow.txt'],
    pushed(
      () => new PyMallocDtraceParser(source),
      (parser) => parser.finish().lines,
    ),
  ],
];

const skipped = (counts: LineCounts) => counts.malformed + counts.foreign;

for (const [name, fixtures, read] of READERS) {
  test(`${name} --lenient: N foreign lines anywhere after the second are each counted, as foreign or malformed`, async (t) => {
    for (const path of fixtures) {
      const original = readFileSync(fixture(path), 'utf8').split('\n');
      if (original.at(-1) === '') original.pop();
      const before = skipped(await read(original));
      await t.notThrowsAsync(() =>
        fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 30 }),
            fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
            async (count, at) => {
              const lines = [...original];
              lines.splice(
                2 + Math.floor(at * (lines.length - 2)),
                0,
                ...Array.from({ length: count }, (_, index) => `%%% not a record ${index} %%%`),
              );
              const after = skipped(await read(lines));
              if (after < before + count) throw new Error(`${path}: ${count} foreign lines inserted, ${after - before} counted`);
            },
          ),
          { seed: 0x6c696e, numRuns: 25, includeErrorInReport: true },
        ),
      );
    }
  });
}

test('foreign lines between records are counted as foreign, exactly', async (t) => {
  // After the begin marker: no record is open there.
  const lines = readFileSync(fixture('bpftrace/debian12-0.17/malloc-known-allocs.text.txt'), 'utf8').split('\n');
  const begin = lines.findIndex((line) => line.startsWith('memtrace:begin'));
  lines.splice(begin + 1, 0, 'one', 'two', 'three');
  const parser = new MallocLogParser(source);
  for (const line of lines) parser.push(line);
  const { raw } = parser.finish();
  t.deepEqual(raw.lines, { malformed: 0, foreign: 3 });
  t.is(raw.lines.foreign, 3);
});
