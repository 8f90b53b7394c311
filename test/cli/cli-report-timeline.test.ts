// memtrace report on a --timeline trace: the growth ranking re-rendered from the raw log, and
// --with, a memtrace process log of the same process drawn beside the growth plot on the trace's
// own time axis. Fixtures: test/fixtures/bpftrace/debian13-0.23/malloc-timeline-raw.ndjson and
// test/fixtures/process/growth-paths-mem.jsonl, recorded in one run (the READMEs there say how).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { memtraceAuto } from '../helpers/cli.js';
import { fixture } from '../helpers/workloads.js';

const TRACE = fixture('bpftrace/debian13-0.23/malloc-timeline-raw.ndjson');
const MEM = fixture('process/growth-paths-mem.jsonl');
const directory = mkdtempSync(join(tmpdir(), 'memtrace-report-timeline-'));

test("--with: the process log's RSS and its mark beside the growth plot, on the trace's time axis", async (t) => {
  const page = join(directory, 'growth.html');
  const result = await memtraceAuto(['report', TRACE, '--with', MEM, '-o', page, '-o', '-']);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /^#1 {2}steady growth: .*\n {6}leak_steady \(growth-paths\)/m);
  const html = readFileSync(page, 'utf8');
  t.regex(html, /<h2>Growth over time<\/h2>/);
  t.regex(html, /Memory of PID \d+, from memtrace process/);
  t.regex(html, /<polyline class="series" data-name="RSS" points="[\d., ]{40,}"/);
  t.regex(html, /stroke-dasharray="4 3"\/>\n<text [^>]*>burst freed<\/text>/);
  t.notRegex(html, /the process log is of PID/);
});

test('--with needs a --timeline trace, placed on the wall clock, and a readable log', async (t) => {
  const noTimeline = await memtraceAuto([
    'report',
    fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'),
    '--with',
    MEM,
    '-o',
    join(directory, 'a.html'),
  ]);
  t.is(noTimeline.exitCode, 2);
  t.regex(
    noTimeline.stderr,
    /--with draws .*growth-paths-mem\.jsonl beside the growth over time of a --timeline trace; this trace has no timeline/,
  );
  const notMalloc = await memtraceAuto(['report', MEM, '--with', MEM]);
  t.is(notMalloc.exitCode, 2);
  t.regex(notMalloc.stderr, /--with draws a process log beside a --timeline trace; .*growth-paths-mem\.jsonl is a process log/);
  const missing = await memtraceAuto(['report', TRACE, '--with', join(directory, 'none.jsonl')]);
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /cannot read .*none\.jsonl: no such file, or not readable/);
});
