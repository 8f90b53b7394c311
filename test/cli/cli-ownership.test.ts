// Under sudo (root with SUDO_UID/SUDO_GID), every file memtrace writes belongs to the invoking
// user; a symlink or another user's file at an output path is refused before anything runs. The
// CLI runs as root here (CI is root) with SUDO_UID=SUDO_GID=65534 (nobody) in its environment,
// which is what sudo sets.
import { chownSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { memtrace, memtraceAuto } from '../helpers/cli.js';
import { liveTest } from '../helpers/live.js';
import { buildWorkload, fixture } from '../helpers/workloads.js';

const SUDO = { SUDO_UID: '65534', SUDO_GID: '65534' };
const recorded = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);

function directory(): string {
  return mkdtempSync(join(tmpdir(), 'memtrace-ownership-test-'));
}

/** uid:gid of every entry of `base`, by name. */
function owners(base: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(base)
      .sort()
      .map((name) => {
        const stat = statSync(join(base, name));
        return [name, `${stat.uid}:${stat.gid}`];
      }),
  );
}

test('report under sudo: json, svg, folded, tsv, csv, pprof and html reports all belong to the invoking user', async (t) => {
  const base = directory();
  const names = ['a.json', 'a.svg', 'a.folded', 'a.tsv', 'a.csv', 'a.pb.gz', 'a.html'];
  const result = await memtraceAuto(
    ['report', recorded('malloc-raw-launch.ndjson'), ...names.flatMap((name) => ['-o', join(base, name)])],
    { env: SUDO },
  );
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.deepEqual(owners(base), Object.fromEntries(names.sort().map((name) => [name, '65534:65534'])));
  t.is(statSync(join(base, 'a.json')).mode & 0o777, 0o644);
});

test('report under sudo: a process series as gnuplot .dat/.plt and tsv belongs to the invoking user', async (t) => {
  const base = directory();
  const result = await memtraceAuto(
    ['report', fixture('process/node-rss-steps.jsonl'), '-o', join(base, 's.plt'), '-o', join(base, 's.tsv')],
    { env: SUDO },
  );
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.deepEqual(owners(base), { 's.dat': '65534:65534', 's.plt': '65534:65534', 's.tsv': '65534:65534' });
});

test('process under sudo: the live log and the reports belong to the invoking user', async (t) => {
  const base = directory();
  const result = await memtraceAuto(
    ['process', '-i', '50ms', '-o', join(base, 'log.jsonl'), '-o', join(base, 's.plt'), '-o', join(base, 's.svg'), '--', 'sleep', '0.3'],
    { env: SUDO },
  );
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.deepEqual(owners(base), { 'log.jsonl': '65534:65534', 's.dat': '65534:65534', 's.plt': '65534:65534', 's.svg': '65534:65534' });
  t.true(readFileSync(join(base, 'log.jsonl'), 'utf8').split('\n').length > 3);
});

test('without SUDO_UID a root run keeps root as the owner', async (t) => {
  const base = directory();
  const env = { ...process.env };
  delete env.SUDO_UID;
  delete env.SUDO_GID;
  const result = await memtraceAuto(['report', recorded('malloc-raw-launch.ndjson'), '-o', join(base, 'a.json')], {
    env,
    extendEnv: false,
  });
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.deepEqual(owners(base), { 'a.json': '0:0' });
});

test('a malformed SUDO_UID is a usage error, and nothing is written', async (t) => {
  const base = directory();
  const result = await memtraceAuto(['report', recorded('malloc-raw-launch.ndjson'), '-o', join(base, 'a.json')], {
    env: { SUDO_UID: '65534x', SUDO_GID: '65534' },
  });
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /^memtrace: SUDO_UID is "65534x": expected a numeric id/);
  t.deepEqual(readdirSync(base), []);
});

test('a symlink planted at -o is refused before anything is written; its target is unchanged', async (t) => {
  const base = directory();
  const target = join(base, 'somefile');
  writeFileSync(target, 'root:x:0:0:root:/root:/bin/bash\n');
  symlinkSync(target, join(base, 'out.json'));
  const result = await memtraceAuto(
    ['report', recorded('malloc-raw-launch.ndjson'), '-o', join(base, 'a.folded'), '-o', join(base, 'out.json')],
    { env: SUDO },
  );
  t.is(result.exitCode, 2);
  t.is(
    `${result.stderr}`.split('\n')[0],
    `memtrace: ${join(base, 'out.json')} is a symbolic link: memtrace does not write through a link at its output path; remove it or choose another path`,
  );
  t.is(readFileSync(target, 'utf8'), 'root:x:0:0:root:/root:/bin/bash\n');
  // Checked before any report is written: the folded one asked for first is not there either.
  t.deepEqual(readdirSync(base).sort(), ['out.json', 'somefile']);
});

test("another user's file at -o is refused, untouched", async (t) => {
  const base = directory();
  writeFileSync(join(base, 'a.json'), 'theirs\n');
  chownSync(join(base, 'a.json'), 4242, 4242);
  const result = await memtraceAuto(['report', recorded('malloc-raw-launch.ndjson'), '-o', join(base, 'a.json')], { env: SUDO });
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /a\.json belongs to user 4242: memtrace does not overwrite another user's file/);
  t.is(readFileSync(join(base, 'a.json'), 'utf8'), 'theirs\n');
});

test("the invoking user's own older report is replaced, and stays theirs", async (t) => {
  const base = directory();
  writeFileSync(join(base, 'a.folded'), 'old\n');
  chownSync(join(base, 'a.folded'), 65534, 65534);
  const result = await memtraceAuto(['report', recorded('malloc-raw-launch.ndjson'), '-o', join(base, 'a.folded')], { env: SUDO });
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.not(readFileSync(join(base, 'a.folded'), 'utf8'), 'old\n');
  t.deepEqual(owners(base), { 'a.folded': '65534:65534' });
});

liveTest('malloc under sudo: the report and the --raw-out log belong to the invoking user; the raw log re-renders', async (t) => {
  const base = directory();
  const result = await memtrace(
    [
      'malloc',
      '-o',
      join(base, 'r.json'),
      '-o',
      join(base, 'r.svg'),
      '--raw-out',
      join(base, 'raw.ndjson'),
      '--',
      buildWorkload('known-allocs'),
    ],
    { env: SUDO },
  );
  t.is(result.exitCode, 7, `${result.stderr}`);
  t.deepEqual(owners(base), { 'r.json': '65534:65534', 'r.svg': '65534:65534', 'raw.ndjson': '65534:65534' });
  const again = await memtraceAuto(['report', join(base, 'raw.ndjson'), '-f', 'json']);
  t.is(again.exitCode, 0, `${again.stderr}`);
  t.deepEqual(
    (JSON.parse(`${again.stdout}`) as { totals: unknown }).totals,
    (JSON.parse(readFileSync(join(base, 'r.json'), 'utf8')) as { totals: unknown }).totals,
  );
});

liveTest('malloc: a symlink planted at --raw-out is refused before tracing starts', async (t) => {
  const base = directory();
  writeFileSync(join(base, 'somefile'), 'keep\n');
  symlinkSync(join(base, 'somefile'), join(base, 'raw.ndjson'));
  const result = await memtrace(['malloc', '--raw-out', join(base, 'raw.ndjson'), '--', buildWorkload('known-allocs')], { env: SUDO });
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /raw\.ndjson is a symbolic link/);
  t.notRegex(`${result.stderr}`, /tracing/);
  t.is(readFileSync(join(base, 'somefile'), 'utf8'), 'keep\n');
});

test('a symlink at the .dat of a gnuplot pair is refused before the .plt is written', async (t) => {
  const base = directory();
  writeFileSync(join(base, 'somefile'), 'keep\n');
  symlinkSync(join(base, 'somefile'), join(base, 's.dat'));
  const result = await memtraceAuto(['report', fixture('process/node-rss-steps.jsonl'), '-o', join(base, 's.plt')], { env: SUDO });
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /s\.dat is a symbolic link/);
  t.deepEqual(readdirSync(base).sort(), ['s.dat', 'somefile']);
  t.is(readFileSync(join(base, 'somefile'), 'utf8'), 'keep\n');
});
