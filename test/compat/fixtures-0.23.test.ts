// memtrace report on output of Debian 13's bpftrace 0.23, recorded from real runs of the same
// workload as the 0.17 fixtures (test/fixtures/bpftrace/debian13-0.23/README.md): the same exact
// figures come out of both versions' text, JSON and memtrace raw logs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { mallocStackProfile } from '../../src/model/malloc-profile.js';
import { renderFolded } from '../../src/report/folded.js';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { KNOWN_FUNCTIONS, KNOWN_STACKS, KNOWN_TOTALS, functionsByName, stacksOf } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';
import { makeTemporaryDirectory } from '../symbols/helpers.js';

const recorded = (name: string) => fixture(`bpftrace/debian13-0.23/${name}`);
const temporary = makeTemporaryDirectory('compat-fixtures');
test.after.always(() => temporary.cleanup());

const exactFigures = test.macro(async (t, name: string) => {
  const profile = await readMallocLog(recorded(name), { lenient: false });
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  const functions = functionsByName(profile);
  for (const [fn, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[fn], expected, fn);
  for (const [leaf, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks: _stacks, ...sums } = stacksOf(profile, leaf);
    t.deepEqual(sums, expected, leaf);
  }
  t.deepEqual(profile.losses.unsymbolizedFrames, 0);
});

test('0.23 text output of scripts/bpf/malloc.bt', exactFigures, 'malloc-known-allocs-symbolized.text.txt');
test('0.23 -f json output, whose stack keys are escaped twice', exactFigures, 'malloc-known-allocs-symbolized.json.ndjson');
test(
  'memtrace raw log through 0.23 (free at its offsets, the shared libc, counted from the exec)',
  exactFigures,
  'malloc-raw-launch.ndjson',
);

test('0.23 text and json of the same run give the same stacks', async (t) => {
  const text = await readMallocLog(recorded('malloc-known-allocs-symbolized.text.txt'), { lenient: false });
  const json = await readMallocLog(recorded('malloc-known-allocs-symbolized.json.ndjson'), { lenient: false });
  const folded = renderFolded(mallocStackProfile(json));
  t.is(renderFolded(mallocStackProfile(text)), folded);
  t.false(folded.includes('\\'), 'no escape is left in a frame name');
  t.regex(folded, /^__libc_start_call_main;main;make_pages \d+$/m);
});

test('0.23 histograms: sizes of 2 GiB and more land in their own bucket (0.17 folded them into one)', async (t) => {
  const json = await readMallocLog(recorded('malloc-known-allocs-symbolized.json.ndjson'), { lenient: false });
  t.deepEqual(json.histogram.buckets.at(-1), { low: 2 ** 62, high: 2 ** 63, count: 2 });
});

test('the raw log records the bpftrace and the choices memtrace made for it', async (t) => {
  const profile = await readMallocLog(recorded('malloc-raw-launch.ndjson'), { lenient: false });
  t.is(profile.tracer.version, '0.23.2');
  t.deepEqual(profile.tracer.choices, [
    'free probed at free+9, past its NULL test (offset uprobe: the kernel emulates the instruction there); free(NULL) at free+200',
    'uprobes attached for the traced process only (per-PID uprobes): other processes using libc.so.6 do not trap',
  ]);
  t.is(profile.allocator.library, '/usr/lib/x86_64-linux-gnu/libc.so.6');
});

test('a 0.23 json log cut inside a stack key line: a ParseError naming the file and line, or partial with lenient', async (t) => {
  const text = readFileSync(recorded('malloc-known-allocs-symbolized.json.ndjson'), 'utf8');
  const at = text.indexOf('"@stack_allocs"') + 60;
  const cut = join(temporary.dir, 'cut.ndjson');
  writeFileSync(cut, text.slice(0, at));
  const strict = await t.throwsAsync(readMallocLog(cut, { lenient: false }));
  t.regex(strict!.message, /cut\.ndjson:\d+/);
  const lenient = await readMallocLog(cut, { lenient: true });
  t.is(lenient.totals.allocs, KNOWN_TOTALS.allocs);
});
