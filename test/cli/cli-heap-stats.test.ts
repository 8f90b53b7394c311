import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse, tsvParse } from 'd3-dsv';
import test from 'ava';
import { parsePreloadRecord } from '../../src/tools/heap-stats/heap-stats.js';
import { memtraceAuto, waitForLine } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-heap-stats-test-'));
const workload = `${ROOT}test/workloads/node/hold-arrays.js`;
const EXPECTED_OLD_SPACE = 65_536 * 1072;

test('a Node run holding 67 MiB of arrays: old space grew by that, in table, json, tsv and csv', async (t) => {
  const json = join(directory, 'heap.json');
  const tsv = join(directory, 'heap.tsv');
  const csv = join(directory, 'heap.csv');
  const result = await memtraceAuto(['heap-stats', '-o', json, '-o', tsv, '-o', csv, '-o', '-', '--', 'node', workload]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stderr, /holding 65536 arrays/, "the program's output goes to stderr when the report is on stdout");
  t.regex(result.stdout, /^memtrace heap-stats: PID \d+ \(node .*hold-arrays\.js\), Node v\d+/);
  t.regex(result.stdout, /^space\.old_space\.used .* \+6\d\.\d MiB/m);
  const report = JSON.parse(readFileSync(json, 'utf8')) as {
    differences: Array<{ name: string; adjusted: number }>;
    header: { tool: string };
  };
  t.is(report.header.tool, 'heap-stats');
  const used = report.differences.find((difference) => difference.name === 'space.old_space.used')!;
  t.true(Math.abs(used.adjusted - EXPECTED_OLD_SPACE) < EXPECTED_OLD_SPACE * 0.03, `${used.adjusted} vs ${EXPECTED_OLD_SPACE}`);
  const rows = tsvParse(readFileSync(tsv, 'utf8'));
  t.deepEqual(rows.columns, ['name', 'unit', 'before', 'after', 'delta', 'noise', 'adjusted', 'relative']);
  t.true(rows.some((row) => row.name === 'space.old_space.used'));
  t.deepEqual(
    csvParse(readFileSync(csv, 'utf8')).map((row) => ({ ...row })),
    rows.map((row) => ({ ...row })),
    'the csv holds the rows of the tsv',
  );
});

test('released before exit: old space does not show as grown; the exit code is passed on', async (t) => {
  const result = await memtraceAuto([
    'heap-stats',
    '-f',
    'json',
    '--',
    'node',
    '-e',
    `require(${JSON.stringify(workload)}); globalThis.held = null; process.exitCode = 3`,
  ]);
  t.is(result.exitCode, 3, result.stderr);
  const report = JSON.parse(result.stdout) as { differences: Array<{ name: string; adjusted: number }> };
  const used = report.differences.find((difference) => difference.name === 'space.old_space.used');
  t.true(used === undefined || used.adjusted < 8 * 1024 * 1024, `old space +${used?.adjusted}`);
});

test('Ctrl-C: the report of the run so far is still written, and memtrace ends as the program did', async (t) => {
  const run = memtraceAuto([
    'heap-stats',
    '--',
    'node',
    '-e',
    'globalThis.x = Array.from({ length: 200000 }, (_, i) => ({ i })); console.error("ready"); setInterval(() => {}, 1000)',
  ]);
  await waitForLine(run.stderr!, /ready/);
  run.kill('SIGINT');
  const result = await run;
  t.is(result.exitCode, 130);
  t.regex(result.stdout, /THE BLOCK THREW: the program was ended by SIGINT: figures at that moment/);
  t.regex(result.stdout, /space\.old_space\.used|space\.new_space\.used/);
});

test('bad input: a non-Node command, an unwritable output, bad thresholds, no command', async (t) => {
  const marker = join(directory, 'ran');
  const notNode = await memtraceAuto(['heap-stats', '--', 'touch', marker]);
  t.is(notNode.exitCode, 2);
  t.regex(notNode.stderr, /heap-stats needs a Node\.js program, and touch \(\/usr\/bin\/touch\) is not one/);
  t.false(existsSync(marker));
  const unwritable = await memtraceAuto(['heap-stats', '-o', '/no/such/dir/h.json', '--', 'node', '-e', '1']);
  t.is(unwritable.exitCode, 2);
  t.regex(unwritable.stderr, /cannot write \/no\/such\/dir\/h\.json/);
  for (const [args, message] of [
    [['--min-relative', 'lots'], /--min-relative: expected a percentage such as 1% or a fraction such as 0\.01, got "lots"/],
    [['--min-bytes=-5'], /--min-bytes: expected a size in bytes/],
    [['-o', join(directory, 'h.svg')], /h\.svg: cannot tell the report format from the extension; use one of \.txt \.table \.json \.tsv/],
  ] as const) {
    const result = await memtraceAuto(['heap-stats', ...args, '--', 'node', '-e', '1']);
    t.is(result.exitCode, 2, args.join(' '));
    t.regex(result.stderr, message);
  }
  const none = await memtraceAuto(['heap-stats']);
  t.is(none.exitCode, 2);
  const killed = await memtraceAuto(['heap-stats', '--', 'node', '-e', 'process.kill(process.pid, "SIGKILL")']);
  t.is(killed.exitCode, 137);
  t.regex(
    killed.stderr,
    /ended \(SIGKILL\) without reporting: it did not start Node.js with memtrace.s preload, or it was killed with SIGKILL/,
  );
});

test('preload output: empty, cut or garbled files are errors naming the file', (t) => {
  t.throws(() => parsePreloadRecord('', 'heap-stats-1.json'), {
    message: /heap-stats-1\.json:1: not valid heap-stats preload output: expected a JSON object; the file is empty/,
  });
  t.throws(() => parsePreloadRecord('{"pid": 1, "bef', 'heap-stats-1.json'), {
    message: /expected a JSON object \(the file is cut short\?\)/,
  });
  t.throws(() => parsePreloadRecord('{"pid": 1, "before": {"a": "x"}}', 'heap-stats-1.json'), {
    message: /expected pid, before and after snapshots of numbers, and noise, a list of them/,
  });
});
