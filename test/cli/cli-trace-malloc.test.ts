import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { Profile } from 'pprof-format';
import test from 'ava';
import { reduceHeapProfile, type V8HeapProfile } from '../../src/model/js-heap-profile.js';
import { isOwnFrame } from '../../src/node/trace-malloc.js';
import { parseTraceMallocRecord } from '../../src/tools/trace-malloc/trace-malloc.js';
import { memtraceAuto, waitForLine } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-trace-malloc-test-'));
const workload = `${ROOT}test/workloads/node/hold-arrays.js`;
const ALLOCATED = 65_536 * 1072;

test('a Node run: the function that allocated 67 MiB leads, in table, json, folded, svg and heapprofile', async (t) => {
  const out = (name: string) => join(directory, name);
  const result = await memtraceAuto([
    'trace-malloc',
    '-o',
    out('a.json'),
    '-o',
    out('a.folded'),
    '-o',
    out('a.svg'),
    '-o',
    out('a.heapprofile'),
    '-o',
    out('a.pb.gz'),
    '-o',
    '-',
    '--',
    'node',
    workload,
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stderr, /holding 65536 arrays/);
  t.regex(result.stdout, /^memtrace trace-malloc: PID \d+ \(node .*hold-arrays\.js\)/);
  // The estimate varies run to run (about ±2% here): its tolerance is checked on the json below.
  t.regex(result.stdout, /^ *\d+\.\d MiB +9\d\.\d% +[\d,]+ +holdSixtyFourMiB {2}file:\/\/.*hold-arrays\.js:9$/m);
  const report = JSON.parse(readFileSync(out('a.json'), 'utf8')) as {
    sites: Array<{ function: string; file: string; line: number; bytes: number; count: number }>;
    stacks: Array<{ frames: string[]; bytes: number }>;
    totals: { bytes: number };
  };
  const top = report.sites[0]!;
  t.like(top, { function: 'holdSixtyFourMiB', line: 9 });
  t.true(top.bytes / report.totals.bytes > 0.95);
  t.true(Math.abs(top.bytes - ALLOCATED) < ALLOCATED * 0.09, `${top.bytes} estimated vs ${ALLOCATED}`);
  t.true(
    report.sites.every((site, index) => index === 0 || site.bytes <= report.sites[index - 1]!.bytes),
    'largest first',
  );
  t.true(report.stacks.some((stack) => stack.frames.at(-1) === 'holdSixtyFourMiB (hold-arrays.js:9)'));
  t.regex(readFileSync(out('a.folded'), 'utf8'), /;holdSixtyFourMiB \(hold-arrays\.js:9\) \d+$/m);
  t.true(readFileSync(out('a.svg'), 'utf8').includes('holdSixtyFourMiB (hold-arrays.js:9)'));
  const profile = JSON.parse(readFileSync(out('a.heapprofile'), 'utf8')) as V8HeapProfile;
  t.deepEqual(Object.keys(profile).sort(), ['head', 'samples']);
  const pprof = Profile.decode(gunzipSync(readFileSync(out('a.pb.gz'))));
  const strings = pprof.stringTable.strings;
  t.deepEqual(
    pprof.sampleType.map((type) => strings[Number(type.type)]),
    ['alloc_space', 'samples'],
  );
  t.true(strings.includes('holdSixtyFourMiB (hold-arrays.js:9)'));
});

test("node --heap-prof's own file reads the same way: the format DevTools saves is the one memtrace writes", async (t) => {
  const profiles = mkdtempSync(join(directory, 'heap-prof-'));
  await execa('node', ['--heap-prof', `--heap-prof-dir=${profiles}`, workload]);
  const [file] = readdirSync(profiles);
  const profile = JSON.parse(readFileSync(join(profiles, file!), 'utf8')) as V8HeapProfile;
  const reduced = reduceHeapProfile(profile, { groupBy: 'line', samplingInterval: 32768, isOwnFrame });
  t.like(reduced.sites[0], { function: 'holdSixtyFourMiB', line: 9 });
});

test('Ctrl-C: the report of what was allocated so far is written; memtrace ends as the program did', async (t) => {
  const run = memtraceAuto([
    'trace-malloc',
    '--',
    'node',
    '-e',
    'function grow() { globalThis.x = Array.from({ length: 300000 }, (_, i) => ({ i })); } grow(); console.error("ready"); setInterval(() => {}, 1000)',
  ]);
  await waitForLine(run.stderr!, /ready/);
  run.kill('SIGINT');
  const result = await run;
  t.is(result.exitCode, 130);
  t.regex(result.stdout, /THE BLOCK THREW: the program was ended by SIGINT: allocations up to then/);
  t.regex(result.stdout, /grow {2}\[eval\]:1|grow/);
});

test('--group-by, --retained and --interval reach the profiler', async (t) => {
  const result = await memtraceAuto([
    'trace-malloc',
    '--group-by',
    'file',
    '--retained',
    '--interval',
    '8k',
    '-f',
    'json',
    '--',
    'node',
    workload,
  ]);
  t.is(result.exitCode, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    header: { groupBy: string; mode: string; samplingInterval: number };
    sites: Array<{ file: string; function: string; bytes: number }>;
  };
  t.like(report.header, { groupBy: 'file', mode: 'retained', samplingInterval: 8192 });
  t.regex(report.sites[0]!.file, /hold-arrays\.js$/);
  t.true(report.sites[0]!.bytes > 60 * 1024 * 1024, 'the arrays are kept to the end by the workload');
});

test('bad input: a non-Node command, an unwritable output, bad options, no command, a program killed with SIGKILL', async (t) => {
  const marker = join(directory, 'ran');
  const notNode = await memtraceAuto(['trace-malloc', '--', 'touch', marker]);
  t.is(notNode.exitCode, 2);
  t.regex(notNode.stderr, /trace-malloc needs a Node\.js program, and touch \(\/usr\/bin\/touch\) is not one/);
  t.false(existsSync(marker));
  for (const [args, message] of [
    [['-o', '/no/such/dir/t.json'], /cannot write \/no\/such\/dir\/t\.json/],
    [['--group-by', 'module'], /--group-by: expected one of line, function, file, stack, got "module"/],
    [['--interval', '0'], /--interval: expected from 1 byte to 1 GiB, got 0/],
    [['-f', 'gnuplot'], /--format: expected one of table, json, folded, svg, heapprofile, pprof, speedscope, html, got "gnuplot"/],
    [['-o', join(directory, 't.tsv')], /t\.tsv: cannot tell the report format from the extension/],
  ] as const) {
    const result = await memtraceAuto(['trace-malloc', ...args, '--', 'node', '-e', '1']);
    t.is(result.exitCode, 2, args.join(' '));
    t.regex(result.stderr, message);
  }
  t.is((await memtraceAuto(['trace-malloc'])).exitCode, 2);
  const killed = await memtraceAuto(['trace-malloc', '--', 'node', '-e', 'process.kill(process.pid, "SIGKILL")']);
  t.is(killed.exitCode, 137);
  t.regex(killed.stderr, /ended \(SIGKILL\) without reporting/);
});

test('preload output: empty, cut or garbled files are errors naming the file', (t) => {
  t.throws(() => parseTraceMallocRecord('', 'trace-malloc-7.json'), {
    message: /trace-malloc-7\.json:1: not valid trace-malloc preload output: expected a JSON object; the file is empty/,
  });
  t.throws(() => parseTraceMallocRecord('{"pid": 7, "prof', 'trace-malloc-7.json'), { message: /the file is cut short/ });
  t.throws(() => parseTraceMallocRecord('{"pid": 7, "samplingInterval": 1, "profile": {}}', 'trace-malloc-7.json'), {
    message: /expected pid, samplingInterval and a V8 sampling heap profile \{head, samples\}/,
  });
});
