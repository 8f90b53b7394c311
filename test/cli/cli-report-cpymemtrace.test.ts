import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse, tsvParse } from 'd3-dsv';
import test from 'ava';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-report-cpymemtrace-'));
const out = (name: string) => join(directory, name);

test('a Trace log: the table on stdout, events with RSS and ΔRSS, new_str first by RSS growth', async (t) => {
  const result = await memtraceAuto(['report', fixture('pymemtrace/trace_default.log')]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(
    result.stdout,
    /^cPyMemTrace trace log: trace_default\.log\n12 PREV lines repeated the event logged before them \(each kept once\)\n15 events \(numbers 0 to 64\)/,
  );
  t.regex(result.stdout, /^Peak RSS: 17\.2 MiB at event 43 \(new_str\)$/m);
  t.regex(result.stdout, /^Functions by RSS growth .*\n.*\n7\.88 MiB {8}0 B {7}8 {2}new_str {12}…\/cPyMemTrace\/run_cpymemtrace\.py$/m);
  t.is(result.stderr, '');
});

test('-o json, svg, tsv and csv of a Profile log: 20 events in order, new_str grew RSS by 8,486,912 bytes', async (t) => {
  const result = await memtraceAuto([
    'report',
    fixture('pymemtrace/profile_default.log'),
    '-o',
    out('calls.json'),
    '-o',
    out('calls.svg'),
    '-o',
    out('calls.tsv'),
    '-o',
    out('calls.csv'),
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.is(result.stdout, '');
  for (const [name, format] of [
    ['calls.json', 'json'],
    ['calls.svg', 'svg'],
    ['calls.tsv', 'tsv'],
    ['calls.csv', 'csv'],
  ]) {
    t.true(result.stderr.split('\n').includes(`memtrace: wrote ${out(name!)} (${format})`), name);
  }
  const json = JSON.parse(readFileSync(out('calls.json'), 'utf8')) as {
    header: { mode: string };
    events: Array<{ event: string; function: string; rss: number; drss: number }>;
    functions: Array<{ function: string; growth: number }>;
  };
  t.is(json.header.mode, 'profile');
  t.is(json.events.length, 20);
  t.deepEqual(
    json.events.slice(0, 3).map((event) => [event.event, event.function, event.rss, event.drss]),
    [
      ['LINE', 'main', 9_392_128, 9_392_128],
      ['C_CALL', 'log_file_path', 9_531_392, 9_531_392],
      ['C_RETURN', 'log_file_path', 9_555_968, 24_576],
    ],
  );
  t.deepEqual(
    json.functions.map((entry) => [entry.function, entry.growth]),
    [
      ['new_str', 8_486_912],
      ['log_file_path', 24_576],
      ['len', 0],
      ['main', 0],
    ],
  );
  t.is(tsvParse(readFileSync(out('calls.tsv'), 'utf8')).length, 20);
  t.is(csvParse(readFileSync(out('calls.csv'), 'utf8'))[19]!.number, '78');
  t.is(readFileSync(out('calls.svg'), 'utf8').match(/<circle class="event"/g)?.length, 20);
});

test('-f on stdout, --input-format, --top', async (t) => {
  const csv = await memtraceAuto(['report', fixture('pymemtrace/trace_default.log'), '-f', 'csv']);
  t.is(csv.exitCode, 0, csv.stderr);
  t.is(csv.stdout.trimEnd().split('\n').length, 16);
  const named = await memtraceAuto(['report', '--input-format', 'cpymemtrace', '--top', '1', fixture('pymemtrace/message-no-clock.log')]);
  t.is(named.exitCode, 0, named.stderr);
  t.regex(named.stdout, /^message: memory of the demo, first pass$/m);
  t.regex(named.stdout, /^\(1 more functions; --top N shows more\)$/m);
});

test('a cut log is reported as partial; a garbled line is an error, counted with --lenient', async (t) => {
  const cut = await memtraceAuto(['report', fixture('pymemtrace/profile-cut.log')]);
  t.is(cut.exitCode, 0, cut.stderr);
  t.regex(cut.stdout, /^PARTIAL: no EOF line, and line 12 is cut short: the log is cut/m);
  t.regex(cut.stdout, /^6 events \(numbers 0 to 19\)/m);
  const lines = readFileSync(fixture('pymemtrace/trace_default.log'), 'utf8').split('\n');
  lines[5] = 'NEXT: 8 garbled';
  const garbled = out('garbled.log');
  writeFileSync(garbled, lines.join('\n'));
  const strict = await memtraceAuto(['report', garbled]);
  t.is(strict.exitCode, 3);
  t.regex(
    strict.stderr,
    /garbled\.log:6: not valid cPyMemTrace log: expected an event: number, \+dEvent, clock \(seconds\), what, file, line, function, RSS, dRSS: "NEXT: 8 garbled"/,
  );
  const lenient = await memtraceAuto(['report', '--lenient', garbled]);
  t.is(lenient.exitCode, 0, lenient.stderr);
  t.regex(lenient.stdout, /^1 unreadable lines were skipped \(--lenient\)$/m);
});

test('bad input: an empty log, SOF alone, a format that does not apply, an unwritable output', async (t) => {
  const empty = await memtraceAuto(['report', '--input-format', 'cpymemtrace', (writeFileSync(out('empty.log'), ''), out('empty.log'))]);
  t.is(empty.exitCode, 3);
  t.regex(empty.stderr, /empty\.log:1: not valid cPyMemTrace log: expected SOF and a column header; the file is empty/);
  const sof = await memtraceAuto(['report', (writeFileSync(out('sof.log'), 'SOF\n'), out('sof.log'))]);
  t.is(sof.exitCode, 3);
  t.regex(sof.stderr, /sof\.log:1: .*expected the column header; the log stops before it/);
  const folded = await memtraceAuto(['report', fixture('pymemtrace/trace_default.log'), '-o', out('x.folded')]);
  t.is(folded.exitCode, 2);
  t.regex(folded.stderr, /x\.folded: cannot tell the report format from the extension; use one of \.txt \.table \.json \.tsv \.csv \.svg/);
  const format = await memtraceAuto(['report', fixture('pymemtrace/trace_default.log'), '-f', 'pprof']);
  t.is(format.exitCode, 2);
  t.regex(format.stderr, /--format: expected one of table, json, tsv, csv, svg, got "pprof"/);
  const unwritable = await memtraceAuto(['report', fixture('pymemtrace/trace_default.log'), '-o', '/no/such/dir/calls.svg']);
  t.is(unwritable.exitCode, 2);
  t.regex(unwritable.stderr, /cannot write \/no\/such\/dir\/calls\.svg/);
});
