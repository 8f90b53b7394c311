// speedscope output, checked against the required fields and types of speedscope's JSON schema
// (https://www.speedscope.app/file-format-schema.json, generated from src/lib/file-format-spec.ts),
// with each profile's total equal to the model's.
import test from 'ava';
import { mallocStackProfile } from '../../src/model/malloc-profile.js';
import { renderMalloc, formatFromPath } from '../../src/report/index.js';
import { renderSpeedscope } from '../../src/report/speedscope.js';
import { renderStackProfile } from '../../src/report/stack-index.js';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { KNOWN_STACKS, KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { sampleProfile } from '../helpers/profiles.js';
import { fixture } from '../helpers/workloads.js';

const recorded = () => readMallocLog(fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'), { lenient: false });

/** The schema's constraints on a file of sampled profiles, as a list of what is wrong. */
function schemaProblems(file: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const isNumber = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
  for (const key of ['$schema', 'profiles', 'shared']) if (!(key in file)) problems.push(`File: missing ${key}`);
  if (file.$schema !== 'https://www.speedscope.app/file-format-schema.json') problems.push('File: $schema is not the schema URL');
  if (file.name !== undefined && typeof file.name !== 'string') problems.push('File: name is not a string');
  if (file.activeProfileIndex !== undefined && !isNumber(file.activeProfileIndex))
    problems.push('File: activeProfileIndex is not a number');
  const frames = (file.shared as { frames?: unknown })?.frames;
  if (!Array.isArray(frames)) return [...problems, 'shared: frames is not an array'];
  frames.forEach((frame: Record<string, unknown>, index) => {
    if (typeof frame.name !== 'string') problems.push(`frame ${index}: name is not a string`);
    if (frame.file !== undefined && typeof frame.file !== 'string') problems.push(`frame ${index}: file is not a string`);
  });
  if (!Array.isArray(file.profiles)) return [...problems, 'profiles is not an array'];
  (file.profiles as Array<Record<string, unknown>>).forEach((profile, index) => {
    for (const key of ['endValue', 'name', 'samples', 'startValue', 'type', 'unit', 'weights'])
      if (!(key in profile)) problems.push(`profile ${index}: missing ${key}`);
    if (profile.type !== 'sampled') problems.push(`profile ${index}: type is not "sampled"`);
    if (!['bytes', 'microseconds', 'milliseconds', 'nanoseconds', 'none', 'seconds'].includes(profile.unit as string))
      problems.push(`profile ${index}: unit ${String(profile.unit)}`);
    if (!isNumber(profile.startValue) || !isNumber(profile.endValue) || (profile.endValue as number) < (profile.startValue as number))
      problems.push(`profile ${index}: startValue/endValue`);
    const samples = profile.samples as number[][];
    const weights = profile.weights as number[];
    if (!Array.isArray(samples) || !Array.isArray(weights) || samples.length !== weights.length)
      problems.push(`profile ${index}: samples and weights differ in length`);
    samples.forEach((stack, sample) => {
      if (!stack.every((frame) => Number.isInteger(frame) && frame >= 0 && frame < frames.length))
        problems.push(`profile ${index} sample ${sample}: not an index into shared.frames`);
    });
    if (!weights.every(isNumber)) problems.push(`profile ${index}: a weight is not a number`);
  });
  return problems;
}

type File = {
  shared: { frames: Array<{ name: string; file?: string }> };
  profiles: Array<{ name: string; unit: string; startValue: number; endValue: number; samples: number[][]; weights: number[] }>;
  name: string;
  activeProfileIndex: number;
};

test('a recorded malloc trace: valid, one profile per value, totals equal to the model', async (t) => {
  const file = JSON.parse(renderMalloc(await recorded(), 'speedscope') as string) as File;
  t.deepEqual(schemaProblems(file as unknown as Record<string, unknown>), []);
  t.is(file.name, 'memtrace malloc: test/workloads/bin/known-allocs');
  t.deepEqual(
    file.profiles.map((profile) => `${profile.name.replace(/^.*: /, '')}/${profile.unit}`),
    ['allocBytes/bytes', 'allocs/none', 'outstanding/none', 'outstandingBytes/bytes'],
  );
  t.is(file.activeProfileIndex, 0);
  const total = (name: string) => file.profiles.find((profile) => profile.name.endsWith(`: ${name}`))!;
  for (const name of ['allocs', 'allocBytes', 'outstanding', 'outstandingBytes'] as const) {
    const profile = total(name);
    t.is(
      profile.weights.reduce((sum, weight) => sum + weight, 0),
      KNOWN_TOTALS[name],
      name,
    );
    t.is(profile.endValue - profile.startValue, KNOWN_TOTALS[name], `${name}: speedscope's total is endValue - startValue`);
  }
  // Root first, frames interned: make_pages is one frame, its stack ends there.
  t.is(file.shared.frames.filter((frame) => frame.name === 'make_pages').length, 1);
  const pagesIndex = file.shared.frames.findIndex((frame) => frame.name === 'make_pages');
  const bytes = total('allocBytes');
  const pages = bytes.samples
    .map((stack, index) => ({ stack, weight: bytes.weights[index]! }))
    .filter(({ stack }) => stack.at(-1) === pagesIndex);
  t.is(
    pages.reduce((sum, { weight }) => sum + weight, 0),
    KNOWN_STACKS.make_pages!.allocBytes,
  );
  t.is(file.shared.frames[pages[0]!.stack[0]!]!.name, '__libc_start_call_main');
  t.deepEqual(file.shared.frames[pagesIndex], { name: 'make_pages', file: 'known-allocs' });
  // Stacks with every block freed are no samples of the outstanding profiles.
  t.is(total('outstandingBytes').samples.length, 4);
});

test('--value chooses the profile speedscope opens first', async (t) => {
  const file = JSON.parse(renderMalloc(await recorded(), 'speedscope', { value: 'outstandingBytes' }) as string) as File;
  t.regex(file.profiles[0]!.name, /: outstandingBytes$/);
});

test('a generic stack profile: its own value types and units', (t) => {
  const profile = {
    valueTypes: [
      { name: 'samples', unit: 'count' as const },
      { name: 'wall', unit: 'nanoseconds' as const },
    ],
    defaultValue: 'samples',
    samples: [
      { frames: [{ name: 'a' }, { name: 'b' }], values: { samples: 23, wall: 7 } },
      { frames: [{ name: 'a' }], values: { samples: 2, wall: 0 } },
    ],
  };
  const file = JSON.parse(renderStackProfile(profile, 'speedscope', { title: 'folded stacks: x.folded', top: 10 }) as string) as File;
  t.deepEqual(schemaProblems(file as unknown as Record<string, unknown>), []);
  t.deepEqual(file.shared.frames, [{ name: 'a' }, { name: 'b' }]);
  t.deepEqual(
    file.profiles.map((entry) => [entry.name, entry.unit, entry.samples, entry.weights, entry.endValue]),
    [
      ['folded stacks: x.folded: samples', 'none', [[0, 1], [0]], [23, 2], 25],
      ['folded stacks: x.folded: wall', 'nanoseconds', [[0, 1]], [7], 7],
    ],
  );
});

test('an empty profile is a valid file with empty profiles', (t) => {
  const file = JSON.parse(renderSpeedscope(mallocStackProfile(sampleProfile({ stacks: [] })), { name: 'empty' })) as File;
  t.deepEqual(schemaProblems(file as unknown as Record<string, unknown>), []);
  t.deepEqual(file.shared.frames, []);
  t.true(file.profiles.every((profile) => profile.samples.length === 0 && profile.endValue === 0));
});

test('the schema check is not vacuous: it names what a broken file lacks', (t) => {
  t.deepEqual(
    schemaProblems({
      $schema: 'x',
      shared: { frames: [{}] },
      profiles: [{ type: 'evented', unit: 'kg', startValue: 0, endValue: 1, name: 'p', samples: [[3]], weights: [] }],
    }),
    [
      'File: $schema is not the schema URL',
      'frame 0: name is not a string',
      'profile 0: type is not "sampled"',
      'profile 0: unit kg',
      'profile 0: samples and weights differ in length',
      'profile 0 sample 0: not an index into shared.frames',
    ],
  );
});

test('.speedscope.json is speedscope, a plain .json the json report', (t) => {
  t.is(formatFromPath('out/profile.speedscope.json'), 'speedscope');
  t.is(formatFromPath('PROFILE.Speedscope.JSON'), 'speedscope');
  t.is(formatFromPath('profile.json'), 'json');
  t.is(formatFromPath('report.html'), 'html');
  t.is(formatFromPath('stacks.csv'), 'csv');
});

test("a cut trace and skipped lines are said in the file's name, speedscope's one place for them", async (t) => {
  const cut = await readMallocLog(fixture('bpftrace/debian12-0.17/malloc-known-allocs-truncated.text.txt'), { lenient: false });
  t.regex(
    (JSON.parse(renderMalloc(cut, 'speedscope') as string) as File).name,
    /^memtrace malloc: .* \(PARTIAL: .*malloc-known-allocs-truncated\.text\.txt ends/,
  );
  const garbled = await readMallocLog(fixture('bpftrace/debian12-0.17/malloc-known-allocs-garbled.text.txt'), { lenient: true });
  t.is(
    (JSON.parse(renderMalloc(garbled, 'speedscope') as string) as File).name,
    'memtrace malloc: unknown target (1 malformed lines skipped (--lenient))',
  );
  const folded = { valueTypes: [{ name: 'samples', unit: 'count' as const }], defaultValue: 'samples', samples: [] };
  t.is(
    (
      JSON.parse(
        renderStackProfile(folded, 'speedscope', {
          title: 'folded stacks: x',
          top: 10,
          notes: ['2 unreadable lines skipped (--lenient)'],
        }) as string,
      ) as File
    ).name,
    'folded stacks: x (2 unreadable lines skipped (--lenient))',
  );
});

test("a frame with a source place keeps its file and line in speedscope's frame", (t) => {
  const file = JSON.parse(
    renderSpeedscope(
      {
        valueTypes: [{ name: 'value', unit: 'count' }],
        defaultValue: 'value',
        samples: [
          {
            frames: [
              { name: 'main', kind: 'python', source: { file: '/home/user/app.py', line: 12 } },
              { name: 'malloc', module: 'libc.so.1' },
            ],
            values: { value: 3 },
          },
        ],
      },
      { name: 'x' },
    ),
  ) as { shared: { frames: unknown[] } };
  t.deepEqual(file.shared.frames, [
    { name: 'main', file: '/home/user/app.py', line: 12 },
    { name: 'malloc', file: 'libc.so.1' },
  ]);
});
