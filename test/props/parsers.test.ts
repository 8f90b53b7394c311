// Hostile input for every parser: each entry of REPORT_INPUTS (which between them drive every
// reader in src/parse/) is fed random bytes and mutated real fixtures. The property: the report
// either succeeds or throws a ParseError whose message begins `FILE:LINE:`; nothing else escapes
// (no TypeError, RangeError, unhandled rejection), and every call finishes within a time bound.
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the property's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/parsers.test.ts`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { REPORT_INPUTS, type ReportInputOptions } from '../../src/tools/report/inputs.js';
import {
  fixtureLogs,
  junkLineArbitrary,
  mutate,
  mutationArbitrary,
  readFixture,
  sink,
  unexpectedFailure,
  within,
} from '../helpers/hostile-input.js';

const directory = mkdtempSync(`${tmpdir()}/memtrace-props-parsers-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

const FIXTURES = fixtureLogs();
let counter = 0;

function options(lenient: boolean, format: string | null, outputs: string[] = []): ReportInputOptions {
  return { outputs, format, lenient, value: null, top: null, push: null, map: null, with: null };
}

/** Runs one input on `bytes`; returns null when it succeeded or failed as a ParseError should. */
async function attempt(inputName: string, bytes: Buffer | Uint8Array, lenient: boolean, format: string | null): Promise<string | null> {
  const input = REPORT_INPUTS.find((candidate) => candidate.name === inputName)!;
  const path = `${directory}/log-${counter++}.txt`;
  writeFileSync(path, bytes);
  try {
    await within(
      15_000,
      `${inputName} on ${bytes.length} bytes`,
      input.report(path, options(lenient, format), { stdout: sink(), stderr: sink() }),
    );
    return null;
  } catch (error) {
    return unexpectedFailure(error, path);
  } finally {
    rmSync(path, { force: true });
  }
}

// The json reports memtrace writes are inputs too: made once from real fixtures, then mutated.
const jsonReports: string[] = [];
test.before(async () => {
  const made: Array<[string, string]> = [
    ['malloc', 'bpftrace/debian12-0.17/malloc-known-allocs.text.txt'],
    ['calls', 'bpftrace/debian12-0.17/calls-grow.text.txt'],
    ['gc', 'bpftrace/debian12-0.17/gc-forced-23.text.txt'],
    ['process', 'process/node-rss-steps.jsonl'],
  ];
  for (const [name, fixture] of made) {
    const output = `${directory}/${name}-report.json`;
    const input = REPORT_INPUTS.find((candidate) => candidate.name === name)!;
    await input.report(
      FIXTURES.find((path) => path.endsWith(fixture))!,
      options(false, null, [output]),
      { stdout: sink(), stderr: sink() },
    );
    jsonReports.push(output);
  }
});

const SEEDS: Record<string, number> = Object.fromEntries(REPORT_INPUTS.map((input, index) => [input.name, 0x6d656d + index]));

for (const input of REPORT_INPUTS) {
  test(`${input.name}: a mutated real log gives a report or a ParseError naming file and line, within 15 s`, async (t) => {
    const logs = [...FIXTURES, ...jsonReports];
    await t.notThrowsAsync(() =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...logs),
          fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          fc.constantFrom(null, 'json'),
          async (fixture, mutations, lenient, format) => {
            const failure = await attempt(input.name, mutate(readFixture(fixture), mutations), lenient, format);
            if (failure !== null) throw new Error(`${basename(fixture)} ${JSON.stringify(mutations).slice(0, 300)}: ${failure}`);
          },
        ),
        { seed: SEEDS[input.name]!, numRuns: 60, includeErrorInReport: true },
      ),
    );
  });

  test(`${input.name}: random bytes and junk lines give a report or a ParseError naming file and line`, async (t) => {
    await t.notThrowsAsync(() =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 2000 }),
            fc.array(junkLineArbitrary(), { maxLength: 30 }).map((lines) => Buffer.from(lines.join('\n'))),
            fc.string({ unit: 'grapheme', maxLength: 500 }).map((text) => Buffer.from(text)),
          ),
          fc.boolean(),
          async (bytes, lenient) => {
            const failure = await attempt(input.name, bytes, lenient, null);
            if (failure !== null) throw new Error(`${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 200))}: ${failure}`);
          },
        ),
        { seed: SEEDS[input.name]! + 1000, numRuns: 40, includeErrorInReport: true },
      ),
    );
  });
}

// Lenient mode counts what it skips, and the report says how many: every input. A line inserted
// into a record may break it (counted as malformed) or stand between records (counted as foreign):
// the counts the report states add up to the lines inserted.
const COUNTING: Array<[string, string]> = [
  ['gc', 'bpftrace/debian12-0.17/gc-forced-23.text.txt'],
  ['bpftrace', 'bpftrace/debian12-0.17/maps-malloc.text.txt'],
  ['process', 'process/node-rss-steps.jsonl'],
  ['cpymemtrace', 'pymemtrace/trace_default.log'],
  ['malloc', 'bpftrace/debian12-0.17/malloc-known-allocs.text.txt'],
  ['calls', 'bpftrace/debian12-0.17/calls-grow.text.txt'],
  ['faults', 'bpftrace/debian12-0.17/faults-touch-pages.text.txt'],
  ['dtrace', 'dtrace/aggregation-ustack-count.txt'],
  ['pymalloc-dtrace', 'dtrace/pymalloc-grow.txt'],
  ['malloc-dtrace', 'dtrace/malloc-known.txt'],
];
for (const [name, fixture] of COUNTING) {
  test(`${name} --lenient: N foreign lines after the header are counted, and the report says N`, async (t) => {
    const original = readFixture(FIXTURES.find((path) => path.endsWith(fixture))!)
      .toString('utf8')
      .split('\n');
    const input = REPORT_INPUTS.find((candidate) => candidate.name === name)!;
    await t.notThrowsAsync(() =>
      fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 60 }),
          fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
          async (count, at) => {
            const lines = [...original];
            lines.splice(
              2 + Math.floor(at * (lines.length - 3)),
              0,
              ...Array.from({ length: count }, (_, index) => `%%% not a record ${index} %%%`),
            );
            const path = `${directory}/lenient-${counter++}.log`;
            writeFileSync(path, lines.join('\n'));
            let report = '';
            const capture = new (await import('node:stream')).Writable({
              write(chunk, _encoding, done) {
                report += String(chunk);
                done();
              },
            });
            await input.report(path, options(true, null), { stdout: capture, stderr: capture });
            const said = [...report.matchAll(/\b(\d+) (?:unreadable|malformed|foreign) lines?\b/g)].reduce(
              (sum, match) => sum + Number(match[1]),
              0,
            );
            if (said !== count && !new RegExp(`\\b${count} lines?\\b`).test(report))
              throw new Error(`the report does not say ${count} lines (it says ${said}):\n${report.slice(0, 600)}`);
          },
        ),
        { seed: 0x6c656e, numRuns: 30, includeErrorInReport: true },
      ),
    );
  });
}
