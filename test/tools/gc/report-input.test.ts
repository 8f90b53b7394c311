// memtrace report on recorded gc logs (hand runs of scripts/bpf/gc.bt, memtrace gc's raw log) and
// on gc json reports written from them: the model's figures, exactly, and the round trip.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readLogHead } from '../../../src/parse/first-line.js';
import { renderJson } from '../../../src/report/json.js';
import { readGcLog, readGcReport } from '../../../src/tools/gc/report-input.js';
import { chooseReportInput } from '../../../src/tools/report/inputs.js';
import { fixture } from '../../helpers/workloads.js';

const FIXTURES = 'bpftrace/debian12-0.17';

test('gc-forced-23.text.txt: 23 mark-compacts, reason testing, with their summary (sums of the records, to the ns)', async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-forced-23.text.txt`), { lenient: false });
  t.deepEqual(log.summary, [
    { kind: 'mark-compact', count: 23, totalPauseMs: 140.056627, p50PauseMs: 6.008168, p99PauseMs: 8.105662, maxPauseMs: 8.105662 },
  ]);
  t.deepEqual(log.collections[0], {
    kind: 'mark-compact',
    reason: 'testing',
    pauseMs: 6.911001,
    rssAfterBytes: 44654592,
    rssBeforeBytes: 44261376,
    startSeconds: 1.273901,
    tid: 5388,
  });
  t.is(log.durationSeconds, 1.922);
  t.is(log.partialReason, null);
  t.is(log.header.probe, null);
  t.is(log.noiseLines, 1);
});

test('gc-alloc-loop.text.txt: 57 scavenges and 1 mark-compact, in start order', async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-alloc-loop.text.txt`), { lenient: false });
  t.deepEqual(log.summary, [
    { kind: 'scavenge', count: 57, totalPauseMs: 384.378672, p50PauseMs: 5.7268, p99PauseMs: 69.356515, maxPauseMs: 69.356515 },
    { kind: 'mark-compact', count: 1, totalPauseMs: 16.434502, p50PauseMs: 16.434502, p99PauseMs: 16.434502, maxPauseMs: 16.434502 },
  ]);
  t.deepEqual(log.collections.find((c) => c.kind === 'mark-compact')?.reason, 'finalize incremental marking via stack guard');
  t.true(log.collections.every((c, i) => i === 0 || c.startSeconds >= log.collections[i - 1]!.startSeconds));
});

test("gc-raw-launch.ndjson: the header of memtrace's raw log names target, binary and symbol", async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-raw-launch.ndjson`), { lenient: false });
  t.is(log.collections.length, 23);
  t.deepEqual(log.header.target.command, ['node', '--expose-gc', 'test/workloads/node/gc-forced.js', '23']);
  t.is(log.header.binary, '/usr/bin/node');
  t.is(log.header.probe?.kind, 'symbol');
  t.is(log.header.tracer.version, '0.17.0');
  t.is(log.partialReason, null);
});

test('truncated: partial, with the 11 whole collections', async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-forced-23-truncated.text.txt`), { lenient: false });
  t.is(log.collections.length, 11);
  t.is(log.partialReason, 'the trace ends in the middle of a record (the log was cut)');
});

test('a json report reads back to the same log', async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-raw-launch.ndjson`), { lenient: false });
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'gc.json');
  writeFileSync(path, renderJson(log));
  t.deepEqual(await readGcReport(path), log);
});

test('a json report that is not a gc one is refused with what was expected', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'gc.json');
  writeFileSync(path, '{\n  "header": {\n    "tool": "gc"\n  },\n  "collections": [{"kind": "scavenge"}],\n  "summary": []\n}\n');
  await t.throwsAsync(readGcReport(path), {
    message: /gc\.json:1: not valid memtrace gc json report: expected collections\[0\] with kind, reason, pauseMs/,
  });
});

const chosen = test.macro(async (t, file: string, input: string) => {
  t.is(chooseReportInput(file, await readLogHead(file), null).name, input);
});
test('report detects the text trace', chosen, fixture(`${FIXTURES}/gc-forced-23.text.txt`), 'gc');
test('report detects the json trace', chosen, fixture(`${FIXTURES}/gc-forced-23.json.ndjson`), 'gc');
test('report detects the raw log', chosen, fixture(`${FIXTURES}/gc-raw-launch.ndjson`), 'gc');
test('report still detects malloc traces as malloc', chosen, fixture(`${FIXTURES}/malloc-raw-launch.ndjson`), 'malloc');
test('report still detects malloc text traces as malloc', chosen, fixture(`${FIXTURES}/malloc-known-allocs.text.txt`), 'malloc');

test('report detects a gc json report before the malloc one', async (t) => {
  const log = await readGcLog(fixture(`${FIXTURES}/gc-forced-23.text.txt`), { lenient: false });
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'saved.json');
  writeFileSync(path, renderJson(log));
  t.is(chooseReportInput(path, await readLogHead(path), null).name, 'gc-json');
});
