// memtrace report and memtrace scripts: offline commands, no root needed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { ROOT, fixture } from '../helpers/workloads.js';

const MEMTRACE = `${ROOT}bin/memtrace.js`;
const run = (args: string[]) => execa(process.execPath, [MEMTRACE, ...args], { reject: false });
const recorded = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);

test('report: a table of a hand-run script output on stdout', async (t) => {
  const result = await run(['report', recorded('malloc-known-allocs-symbolized.text.txt')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stdout}`, /^Total: 106 allocations \(154 KiB\), 80 frees, 2 failed; 26 outstanding \(67\.8 KiB\)$/m);
  t.regex(`${result.stdout}`, /^ {6}make_pages \(known-allocs\)$/m);
});

test('report: several outputs at once, by extension', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const result = await run([
    'report',
    recorded('malloc-raw-launch.ndjson'),
    '-o',
    join(directory, 'a.folded'),
    '-o',
    join(directory, 'a.svg'),
    '-o',
    join(directory, 'a.tsv'),
    '--value',
    'outstandingBytes',
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const folded = readFileSync(join(directory, 'a.folded'), 'utf8').trim().split('\n');
  t.deepEqual(
    folded.map((line) => line.replace(/^[^;]*;/, '')),
    ['main;grow_chain 1024', 'main;make_aligned 10240', 'main;make_arrays 4900', 'main;make_pages 53248'],
  );
  t.true(readFileSync(join(directory, 'a.svg'), 'utf8').includes('bytes outstanding at the end'));
  t.is(
    readFileSync(join(directory, 'a.tsv'), 'utf8').split('\n')[0],
    'stack\tleaf\tleafModule\tallocs\tallocBytes\toutstanding\toutstandingBytes\toldestAgeSeconds',
  );
  t.is(`${result.stdout}`, '');
});

test('report: a garbled log fails with file and line; --lenient reports it', async (t) => {
  const strict = await run(['report', recorded('malloc-known-allocs-garbled.text.txt')]);
  t.is(strict.exitCode, 3);
  t.regex(`${strict.stderr}`, /malloc-known-allocs-garbled\.text\.txt:\d+: not valid memtrace malloc output/);
  const lenient = await run(['report', '--lenient', recorded('malloc-known-allocs-garbled.text.txt')]);
  t.is(lenient.exitCode, 0);
  t.regex(`${lenient.stdout}`, /^Losses: .*1 malformed lines skipped/m);
});

test('report: speedscope, html and csv of a recorded trace in one command', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const out = (name: string) => join(directory, name);
  const result = await run([
    'report',
    recorded('malloc-raw-launch.ndjson'),
    '-o',
    out('profile.speedscope.json'),
    '-o',
    out('report.html'),
    '-o',
    out('stacks.csv'),
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.deepEqual(`${result.stderr}`.split('\n'), [
    `memtrace: wrote ${out('profile.speedscope.json')} (speedscope)`,
    `memtrace: wrote ${out('report.html')} (html)`,
    `memtrace: wrote ${out('stacks.csv')} (csv)`,
  ]);
  const speedscope = JSON.parse(readFileSync(out('profile.speedscope.json'), 'utf8')) as {
    $schema: string;
    profiles: Array<{ endValue: number }>;
  };
  t.is(speedscope.$schema, 'https://www.speedscope.app/file-format-schema.json');
  t.is(speedscope.profiles[0]!.endValue, 157_716);
  t.regex(readFileSync(out('report.html'), 'utf8'), /^<!DOCTYPE html>[^]*data-name="make_pages"[^]*<\/html>\n$/);
  t.is(
    readFileSync(out('stacks.csv'), 'utf8').split('\n')[1],
    '__libc_start_call_main;main;make_pages,make_pages,known-allocs,29,118784,13,53248,2.17975',
  );
  t.is(`${result.stdout}`, '');
});

test('report: a file that does not exist', async (t) => {
  const result = await run(['report', '/nonexistent/trace.log']);
  t.is(result.exitCode, 2);
  t.regex(`${result.stderr}`, /cannot read \/nonexistent\/trace\.log/);
});

test('report: an empty file is an error naming it; --input-format malloc reports it as a cut trace', async (t) => {
  const guessed = await run(['report', recorded('empty.txt')]);
  t.is(guessed.exitCode, 2);
  t.regex(`${guessed.stderr}`, /empty\.txt is empty: nothing to report/);
  t.is(`${guessed.stdout}`, '');
  const named = await run(['report', '--input-format', 'malloc', recorded('empty.txt')]);
  t.is(named.exitCode, 0);
  t.regex(`${named.stdout}`.split('\n').join(' '), /PARTIAL: \S*empty\.txt ends before the tracer printed its results/);
  t.regex(`${named.stdout}`, /No allocations were seen\./);
});

test('report: a log of no known kind lists the inputs; an unknown --input-format too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'memtrace-report-'));
  const path = join(dir, 'notes.txt');
  writeFileSync(path, 'hello world\nthis is no trace\n');
  const unknown = await run(['report', path]);
  t.is(unknown.exitCode, 2);
  t.regex(
    `${unknown.stderr}`,
    /notes\.txt: not a log memtrace report reads \(its first line is "hello world"\); give --input-format, one of: .*folded.*process.*malloc/,
  );
  const badFormat = await run(['report', '--input-format', 'nonsense', path]);
  t.is(badFormat.exitCode, 2);
  t.regex(`${badFormat.stderr}`, /--input-format: expected one of .*malloc-json, malloc.*got "nonsense"/);
  const forced = await run(['report', '--input-format', 'folded', path]);
  t.is(forced.exitCode, 3);
  t.regex(`${forced.stderr}`, /notes\.txt:1: not valid folded stacks/);
});

test('scripts malloc prints the checked-in standalone script', async (t) => {
  const result = await run(['scripts', 'malloc']);
  t.is(result.exitCode, 0);
  t.is(`${result.stdout}\n`, readFileSync(join(ROOT, 'scripts/bpf/malloc.bt'), 'utf8'));
});

test('no command: usage on stdout, exit 2', async (t) => {
  const result = await run([]);
  t.is(result.exitCode, 2);
  t.regex(`${result.stdout}`, /^Usage: memtrace COMMAND/);
});

test('an unknown command', async (t) => {
  const result = await run(['frobnicate']);
  t.is(result.exitCode, 2);
  t.regex(
    `${result.stderr}`,
    /unknown command "frobnicate"; commands: malloc, external, gc, faults, calls, process, explain, mark, trace-malloc, heap-stats, report, scripts/,
  );
});
