// memtrace report on FlameGraph's folded stacks: the folded output of a real recorded trace read
// back (same stacks, same figures), names with spaces, and broken input.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import { memtraceAuto } from '../helpers/cli.js';
import { KNOWN_STACKS, KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-folded-'));
const folded = join(directory, 'known.folded');

test.before(async () => {
  const result = await memtraceAuto(['report', fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'), '-o', folded]);
  if (result.exitCode !== 0) throw new Error(result.stderr);
});

test('folded stacks read back: the same totals, the same folded output, pprof and svg from them', async (t) => {
  const out = (name: string) => join(directory, name);
  const result = await memtraceAuto([
    'report',
    folded,
    '-o',
    out('again.folded'),
    '-o',
    out('again.pb.gz'),
    '-o',
    out('again.svg'),
    '-o',
    '-',
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`^Total: ${KNOWN_TOTALS.allocBytes.toLocaleString('en-US')} samples in \\d+ stacks$`, 'm'));
  t.regex(result.stdout, new RegExp(`^ +${KNOWN_STACKS.make_pages!.allocBytes.toLocaleString('en-US')} +75\\.3% +make_pages$`, 'm'));
  t.is(readFileSync(out('again.folded'), 'utf8'), readFileSync(folded, 'utf8'));
  const pprof = Profile.decode(gunzipSync(readFileSync(out('again.pb.gz'))));
  t.is(
    pprof.sample.reduce((sum, sample) => sum + Number(sample.value[0]), 0),
    KNOWN_TOTALS.allocBytes,
  );
  t.true(readFileSync(out('again.svg'), 'utf8').includes('make_pages'));
});

test('frame names with spaces, repeated stacks summed, content detected without the extension', async (t) => {
  const path = join(directory, 'stacks.txt');
  writeFileSync(path, 'main;parse input;read line 3\nmain;parse input;read line 4\nmain;std::vector<int> push_back 10\n');
  const result = await memtraceAuto(['report', path, '-f', 'folded']);
  t.is(result.exitCode, 0, result.stderr);
  t.is(result.stdout, 'main;parse input;read line 7\nmain;std::vector<int> push_back 10');
});

test('broken folded input: file and line, or counted with --lenient; an empty file', async (t) => {
  const path = join(directory, 'broken.folded');
  writeFileSync(path, 'main;a 5\nmain;b no-count\nmain;c 2\n');
  const strict = await memtraceAuto(['report', path]);
  t.is(strict.exitCode, 3);
  t.regex(
    strict.stderr,
    /broken\.folded:2: not valid folded stacks: expected frames separated by ";", a space, then a count: "main;b no-count"/,
  );
  const lenient = await memtraceAuto(['report', '--lenient', path]);
  t.is(lenient.exitCode, 0);
  t.regex(lenient.stdout, /Total: 7 samples in 2 stacks\n1 unreadable lines skipped \(--lenient\)/);
  const empty = join(directory, 'empty.folded');
  writeFileSync(empty, '');
  const none = await memtraceAuto(['report', empty]);
  t.is(none.exitCode, 3);
  t.regex(none.stderr, /empty\.folded:1: not valid folded stacks: expected at least one stack; the file is empty/);
});
