// memtrace report on hand-written bpftrace map dumps (recorded from test/workloads/stack-allocs.c):
// chosen by content, every stack report from one map, --map, notes in every report, and the
// malloc logs (also bpftrace output) still going to the malloc input.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

const recorded = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);
const directory = mkdtempSync(join(tmpdir(), 'memtrace-bpftrace-maps-'));
const MALLOC_ROOT = '__libc_start_call_main;main';

test('a text dump: the table of the first stack map, the other maps and the histograms', async (t) => {
  const result = await memtraceAuto(['report', recorded('maps-malloc.text.txt')]);
  t.is(result.exitCode, 0, result.stderr);
  t.is(
    result.stdout.split('\n').slice(0, 11).join('\n'),
    [
      'bpftrace @: maps-malloc.text.txt',
      'Total: 34 count in 2 stacks',
      'other stack maps (--map NAME): @bytes (2 entries)',
      'values: @calls = 34',
      '',
      'Leaf functions, by count',
      '  34  100.0%  __GI___libc_malloc',
      '',
      'Heaviest stacks (leaf ← callers)',
      '  23   67.6%  __GI___libc_malloc ← make_alpha ← main ← __libc_start_call_main',
      '  11   32.4%  __GI___libc_malloc ← make_beta ← main ← __libc_start_call_main',
    ].join('\n'),
  );
  t.regex(result.stdout, /\n@lsizes \(lhist\)\n\[0, 64\) +23 \|@+\|\n/);
  t.regex(result.stdout, /\n@sizes \(hist\)\n\[32, 64\) +23 \|@+\|\n\[64, 128\) +0 \| +\|\n\[128, 256\) 11 \|@+ +\|$/);
});

test('a -f json dump, --map bytes: folded, svg, pprof and json of the one map', async (t) => {
  const out = (name: string) => join(directory, name);
  const result = await memtraceAuto([
    'report',
    recorded('maps-malloc.json.ndjson'),
    '--map',
    'bytes',
    '-o',
    out('b.folded'),
    '-o',
    out('b.svg'),
    '-o',
    out('b.pb.gz'),
    '-o',
    out('b.json'),
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.is(
    readFileSync(out('b.folded'), 'utf8'),
    `${MALLOC_ROOT};make_alpha;__GI___libc_malloc 1104\n${MALLOC_ROOT};make_beta;__GI___libc_malloc 2200\n`,
  );
  t.true(readFileSync(out('b.svg'), 'utf8').includes('make_beta'));
  const pprof = Profile.decode(gunzipSync(readFileSync(out('b.pb.gz'))));
  t.deepEqual(
    pprof.sample.map((sample) => Number(sample.value[0])).sort((a, b) => a - b),
    [1104, 2200],
  );
  const json = JSON.parse(readFileSync(out('b.json'), 'utf8'));
  t.deepEqual(json.valueTypes, [{ name: 'bytes', unit: 'bytes' }]);
  t.deepEqual(json.notes, ['other stack maps (--map NAME): @ (2 entries)', 'values: @calls = 34']);
  // The folded report has no room for notes: they go to stderr.
  t.regex(result.stderr, /memtrace: other stack maps \(--map NAME\): @ \(2 entries\)/);
});

test('lost events are shown in the table and the json', async (t) => {
  const table = await memtraceAuto(['report', recorded('maps-lost-events.text.txt')]);
  t.is(table.exitCode, 0, table.stderr);
  t.regex(
    table.stdout,
    /^bpftrace lost 16,110 events in 13 "Lost N events" notices: printf and other perf-buffer output is missing; counts aggregated in maps are not affected$/m,
  );
  t.regex(table.stdout, /^3,892 lines of other output \(printf, the target's own\)$/m);
  const json = await memtraceAuto(['report', recorded('maps-lost-events.text.txt'), '-f', 'json']);
  t.regex(JSON.parse(json.stdout).notes[0], /^bpftrace lost 16,110 events/);
});

test('--map names a map the file does not have: a usage error listing those it has', async (t) => {
  const result = await memtraceAuto(['report', recorded('maps-faults.text.txt'), '--map', '@nope']);
  t.is(result.exitCode, 2);
  t.regex(result.stderr, /--map @nope: .*maps-faults\.text\.txt has no stack map of that name; it has @, @by_comm/);
});

test('--map with a log that is no bpftrace dump is a usage error', async (t) => {
  const result = await memtraceAuto(['report', recorded('malloc-known-allocs-symbolized.text.txt'), '--map', '@']);
  t.is(result.exitCode, 2);
  t.regex(result.stderr, /--map chooses a map of a bpftrace dump; .*malloc-known-allocs-symbolized\.text\.txt is a malloc log/);
});

test('a garbled dump fails with file and line; --lenient reports it with the count of skipped lines', async (t) => {
  const strict = await memtraceAuto(['report', recorded('maps-malloc-garbled.text.txt')]);
  t.is(strict.exitCode, 3);
  t.regex(strict.stderr, /maps-malloc-garbled\.text\.txt:5: not valid bpftrace map output: expected a stack frame line/);
  const lenient = await memtraceAuto(['report', '--lenient', recorded('maps-malloc-garbled.text.txt')]);
  t.is(lenient.exitCode, 0, lenient.stderr);
  t.regex(lenient.stdout, /^1 malformed lines skipped \(--lenient\)$/m);
});

test('a dump cut mid-stack: an error, or with --lenient a report that says so', async (t) => {
  const strict = await memtraceAuto(['report', recorded('maps-malloc-truncated.text.txt')]);
  t.is(strict.exitCode, 3);
  t.regex(strict.stderr, /maps-malloc-truncated\.text\.txt:6: .*but the input ended/);
  const lenient = await memtraceAuto(['report', '--lenient', recorded('maps-malloc-truncated.text.txt'), '-f', 'json']);
  t.is(lenient.exitCode, 0, lenient.stderr);
  const notes = JSON.parse(lenient.stdout).notes as string[];
  t.true(notes.some((note) => /ends inside a stack key/.test(note)));
  t.true(notes.some((note) => /no map keyed by a stack/.test(note)));
});

test("memtrace's own malloc logs still go to the malloc input; --input-format bpftrace reads them as maps", async (t) => {
  const malloc = await memtraceAuto(['report', recorded('malloc-known-allocs-symbolized.text.txt')]);
  t.is(malloc.exitCode, 0, malloc.stderr);
  t.regex(malloc.stdout, /^memtrace malloc/);
  const asMaps = await memtraceAuto([
    'report',
    '--input-format',
    'bpftrace',
    recorded('malloc-known-allocs-symbolized.text.txt'),
    '-f',
    'json',
  ]);
  t.is(asMaps.exitCode, 0, asMaps.stderr);
  t.true(JSON.parse(asMaps.stdout).samples.length > 0);
});
