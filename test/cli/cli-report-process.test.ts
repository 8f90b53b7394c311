import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-report-process-'));

test('a pymemtrace log: the table on stdout, and svg, html, tsv, gnuplot and memtrace jsonl files', async (t) => {
  const out = (name: string) => join(directory, name);
  const result = await memtraceAuto([
    'report',
    fixture('process/pymemtrace-linux.log'),
    '-o',
    out('mem.svg'),
    '-o',
    out('mem.html'),
    '-o',
    out('mem.tsv'),
    '-o',
    out('mem.plt'),
    '-o',
    out('mem.jsonl'),
    '-o',
    '-',
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /^memtrace process: PID 9007/);
  t.regex(result.stdout, /step 3: allocate 32 MiB \(peak\)/);
  for (const name of ['mem.svg', 'mem.html', 'mem.tsv', 'mem.dat', 'mem.plt', 'mem.jsonl']) t.true(existsSync(out(name)), name);
  t.true(readFileSync(out('mem.svg'), 'utf8').includes('free all'));
  t.regex(result.stderr, /wrote .*mem\.dat and .*mem\.plt \(gnuplot .*mem\.plt draws .*mem-gnuplot\.svg\)/);
  const again = await memtraceAuto(['report', out('mem.jsonl'), '-f', 'tsv']);
  t.is(again.exitCode, 0, again.stderr);
  t.is(again.stdout.trim().split('\n').length, 11);
});

test('a memtrace log with marks and children, rendered from its own log', async (t) => {
  const result = await memtraceAuto(['report', fixture('process/children-marks.jsonl')]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /2 marks; the process exited/);
  t.regex(result.stdout, /Process tree RSS: peak .* \(2 descendants then\)/);
  t.regex(result.stdout, /halfway: 64 MiB held by the child/);
});

test('a cut log stops with the line, and --lenient renders it and says it is cut', async (t) => {
  const strict = await memtraceAuto(['report', fixture('process/cut.jsonl')]);
  t.is(strict.exitCode, 3);
  t.regex(strict.stderr, /cut\.jsonl:8: not valid memtrace process log: expected one JSON object a line/);
  const lenient = await memtraceAuto(['report', '--lenient', fixture('process/cut.jsonl')]);
  t.is(lenient.exitCode, 0);
  t.regex(lenient.stdout, /the log is cut: no stop record/);
  t.regex(lenient.stdout, /1 unreadable lines were skipped \(--lenient\)/);
});

test('refusals: a format that does not apply, gnuplot on stdout, an unwritable output', async (t) => {
  const folded = await memtraceAuto(['report', fixture('process/pymemtrace-linux.log'), '-o', join(directory, 'x.folded')]);
  t.is(folded.exitCode, 2);
  t.regex(folded.stderr, /x\.folded: cannot tell the report format from the extension; use one of \.txt/);
  const gnuplot = await memtraceAuto(['report', fixture('process/pymemtrace-linux.log'), '-f', 'gnuplot']);
  t.is(gnuplot.exitCode, 2);
  t.regex(gnuplot.stderr, /gnuplot is two files; write them with -o FILE\.plt/);
  const unwritable = await memtraceAuto(['report', fixture('process/pymemtrace-linux.log'), '-o', '/no/such/dir/mem.svg']);
  t.is(unwritable.exitCode, 2);
  const empty = await memtraceAuto(['report', join(directory, 'missing.jsonl')]);
  t.is(empty.exitCode, 2);
});
