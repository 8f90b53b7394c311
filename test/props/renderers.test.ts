// Renderers and their readers are inverses: for every model memtrace reads back from its own json
// (malloc, gc, calls) and from its memtrace process log (jsonl), model → text → model → text gives
// the same text; folded → model → folded is the identity on what renderFolded writes. Models are
// real fixtures' with arbitrary names and figures put in.
//
// Folded's own rule (src/report/folded.ts): `;` separates frames and the last space the count, so a
// frame's `;` is written as `:`, and a run of whitespace (newlines included) as one space; an empty
// name is `?`. Reading a folded line back gives those names. Both are tested below.
//
// Replay a failure: fast-check prints `seed` and `path`; put them in the assert's parameters,
// e.g. { seed: 1234, path: "5:2:1", endOnFailure: true }, and run `npx ava test/props/renderers.test.ts`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import fc from 'fast-check';
import type { CallLog } from '../../src/model/call-log.js';
import { summarizeGcCollections, type GcLog } from '../../src/model/gc-log.js';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import type { Series } from '../../src/model/series.js';
import type { StackProfile } from '../../src/model/stack-profile.js';
import { readCallLogJson } from '../../src/parse/call-log-json.js';
import { readCallsLog } from '../../src/parse/calls-log.js';
import { readFolded } from '../../src/parse/folded.js';
import { readMallocJson } from '../../src/parse/malloc-json.js';
import { readProcessLog } from '../../src/parse/process-log.js';
import { renderCallLog } from '../../src/report/call-log-index.js';
import { foldedName, renderFolded } from '../../src/report/folded.js';
import { renderGc } from '../../src/report/gc-index.js';
import { renderJson } from '../../src/report/json.js';
import { renderSeries } from '../../src/report/series-index.js';
import { readGcLog, readGcReport } from '../../src/tools/gc/report-input.js';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { ROOT } from '../helpers/workloads.js';

const FIXTURES = `${ROOT}test/fixtures`;
const directory = mkdtempSync(`${tmpdir()}/memtrace-props-renderers-`);
test.after.always(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;
function written(text: string, extension: string): string {
  const path = `${directory}/model-${counter++}.${extension}`;
  writeFileSync(path, text);
  return path;
}

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

test('malloc: model → json → model → json is the identity', async (t) => {
  const base = await readMallocLog(`${FIXTURES}/bpftrace/debian12-0.17/malloc-known-allocs-symbolized.text.txt`, { lenient: false });
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(text, count, count), { minLength: 1, maxLength: 30 }),
        fc.array(text, { maxLength: 3 }),
        async (changes, notes) => {
          const profile: MallocProfile = structuredClone(base);
          profile.notes = notes;
          profile.stacks.forEach((stack, index) => {
            const [name, bytes, allocs] = changes[index % changes.length]!;
            stack.frames[0] = { ...stack.frames[0]!, name };
            stack.allocBytes = bytes;
            stack.allocs = allocs;
          });
          const json = renderJson(profile);
          const again = renderJson(await readMallocJson(written(json, 'json')));
          if (again !== json) throw new Error('the json changed on the way back');
        },
      ),
      { seed: 0x72656e, numRuns: 100, includeErrorInReport: true },
    ),
  );
});

test('gc: model → json → model → json is the identity', async (t) => {
  const base = await readGcLog(`${FIXTURES}/bpftrace/debian12-0.17/gc-forced-23.text.txt`, { lenient: false });
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.double({ min: 0, max: 1e6, noNaN: true }), count, fc.option(text)), { minLength: 1, maxLength: 30 }),
        async (changes) => {
          const log: GcLog = structuredClone(base);
          log.collections.forEach((collection, index) => {
            const [pauseMs, rss, reason] = changes[index % changes.length]!;
            collection.pauseMs = pauseMs;
            collection.rssAfterBytes = rss;
            collection.reason = reason;
          });
          // The summary is a function of the collections (readGcReport recomputes it): kept consistent.
          log.summary = summarizeGcCollections(log.collections);
          const json = renderGc(log, 'json');
          const again = renderGc(await readGcReport(written(json, 'json')), 'json');
          if (again !== json) throw new Error('the json changed on the way back');
        },
      ),
      { seed: 0x72656f, numRuns: 100, includeErrorInReport: true },
    ),
  );
});

test('calls: model → json → model → json is the identity', async (t) => {
  const base = await readCallsLog(`${FIXTURES}/bpftrace/debian12-0.17/calls-grow.text.txt`, { lenient: false });
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, text, count), { minLength: 1, maxLength: 30 }), async (changes) => {
        const log: CallLog = structuredClone(base);
        log.events.forEach((event, index) => {
          const [name, file, rss] = changes[index % changes.length]!;
          event.function = name;
          event.file = file;
          event.rss = rss;
        });
        const json = renderCallLog(log, 'json', { title: 't' });
        const again = renderCallLog(await readCallLogJson(written(json, 'json')), 'json', { title: 't' });
        if (again !== json) throw new Error('the json changed on the way back');
      }),
      { seed: 0x726570, numRuns: 100, includeErrorInReport: true },
    ),
  );
});

test('process: series → memtrace process log (jsonl) → series → jsonl is the identity', async (t) => {
  const base = await readProcessLog(`${FIXTURES}/process/children-marks.jsonl`, { lenient: false });
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(count, text), { minLength: 1, maxLength: 30 }), async (changes) => {
        const series: Series = structuredClone(base);
        series.samples.forEach((sample, index) => {
          const [rss] = changes[index % changes.length]!;
          sample.rss = rss;
        });
        series.marks.forEach((mark, index) => {
          mark.text = changes[index % changes.length]![1];
        });
        const jsonl = renderSeries(series, 'jsonl');
        const again = renderSeries(await readProcessLog(written(jsonl, 'jsonl'), { lenient: false }), 'jsonl');
        if (again !== jsonl) throw new Error('the jsonl changed on the way back');
      }),
      { seed: 0x726571, numRuns: 100, includeErrorInReport: true },
    ),
  );
});

const frameName = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(';', ' ', 'a;b', 'a b', ' a ', '\n', 'x\ty', 'std::map<int, int>', ''),
);
const stackProfile: fc.Arbitrary<StackProfile> = fc
  .array(fc.tuple(fc.array(frameName, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 2 ** 40 })), {
    minLength: 1,
    maxLength: 20,
  })
  .map((stacks) => ({
    valueTypes: [{ name: 'samples', unit: 'count' as const }],
    defaultValue: 'samples',
    samples: stacks.map(([names, value]) => ({ frames: names.map((name) => ({ name })), values: { samples: value } })),
  }));

test('folded → model → folded is the identity on what memtrace writes', async (t) => {
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(stackProfile, async (profile) => {
        const folded = renderFolded(profile);
        const { profile: read } = await readFolded(written(folded, 'folded'), { lenient: false });
        if (renderFolded(read) !== folded) throw new Error(`changed: ${JSON.stringify(folded)} → ${JSON.stringify(renderFolded(read))}`);
        // Each frame reads back as its folded form: no `;`, no whitespace but single inner spaces, never empty.
        for (const sample of read.samples)
          for (const frame of sample.frames)
            if (foldedName(frame) !== frame.name) throw new Error(`read back ${JSON.stringify(frame.name)}`);
      }),
      { seed: 0x726572, numRuns: 300, includeErrorInReport: true },
    ),
  );
});

test('folded text from elsewhere reaches a fixed point after one read and write', async (t) => {
  const line = fc.tuple(
    fc.array(
      fc.string({ unit: 'grapheme', maxLength: 8 }).map((name) => name.replace(/[\n\r]/g, '')),
      { minLength: 1, maxLength: 5 },
    ),
    fc.integer({ min: 1, max: 99999 }),
    fc.constantFrom(' ', '  '),
  );
  await t.notThrowsAsync(() =>
    fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 20 }), async (lines) => {
        const input = lines.map(([frames, value, gap]) => `${frames.join(';')}x${gap}${value}\n`).join('');
        const { profile: first } = await readFolded(written(input, 'folded'), { lenient: false });
        const once = renderFolded(first);
        const { profile: second } = await readFolded(written(once, 'folded'), { lenient: false });
        if (renderFolded(second) !== once) throw new Error('a second round changed the folded text');
        const total = (profile: StackProfile): number => profile.samples.reduce((sum, sample) => sum + sample.values.samples!, 0);
        if (total(first) !== lines.reduce((sum, [, value]) => sum + value, 0)) throw new Error('counts lost');
      }),
      { seed: 0x726573, numRuns: 200, includeErrorInReport: true },
    ),
  );
});

test("folded's rule: `;` becomes `:`, whitespace runs one space, an empty name `?`", (t) => {
  t.is(
    renderFolded({
      valueTypes: [{ name: 'samples', unit: 'count' }],
      defaultValue: 'samples',
      samples: [{ frames: [{ name: 'a;b' }, { name: ' x \n y ' }, { name: '' }], values: { samples: 3 } }],
    }),
    'a:b;x y;? 3\n',
  );
});

test('a folded frame holding U+2028 reads (regression: `.` did not match it)', async (t) => {
  const { profile } = await readFolded(written('main;a\u2028b 7\n', 'folded'), { lenient: false });
  t.deepEqual(profile.samples, [{ frames: [{ name: 'main' }, { name: 'a\u2028b' }], values: { samples: 7 } }]);
});
