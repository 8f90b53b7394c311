// memtrace report on a recorded --timeline log: test/fixtures/bpftrace/debian12-0.17/malloc-timeline-raw.ndjson
// (growth-paths attached, --timeline 500ms, see the README there), whole, cut in the middle of a
// snapshot, and with a snapshot's end marker but no start.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ParseError } from '../../../src/errors.js';
import type { StackGrowth } from '../../../src/model/growth.js';
import { readMallocLog } from '../../../src/tools/malloc/report-input.js';
import { fixture } from '../../helpers/workloads.js';

const RECORDED = fixture('bpftrace/debian12-0.17/malloc-timeline-raw.ndjson');
const lines = readFileSync(RECORDED, 'utf8').split('\n');
/** The snapshots the program printed at its ticks; the end's comes after them. */
const TICKS = lines.filter((line) => line.includes('"memtrace:tick ')).length;
const leafIs = (stack: StackGrowth, name: string) => stack.frames.at(-1)?.name === name;

function variant(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-timeline-')), name);
  writeFileSync(path, text);
  return path;
}

test('the recorded run: the start, a point per snapshot and the end; leak_steady alone grows, at 64,000 B/s within 10%', async (t) => {
  const profile = await readMallocLog(RECORDED, { lenient: false });
  t.false(profile.partial, profile.partialReason ?? '');
  const timeline = profile.timeline!;
  t.is(timeline.requestedIntervalSeconds, 0.5);
  t.is(timeline.times.length, TICKS + 2);
  t.is(timeline.times[0], 0);
  t.deepEqual(
    profile.growth!.map((stack) => stack.frames.at(-1)!.name),
    ['leak_steady'],
  );
  t.true(Math.abs(profile.growth![0]!.bytesPerSecond / 64_000 - 1) < 0.1, `${profile.growth![0]!.bytesPerSecond}`);
  // 5 s of work: the burst was allocated at 3 s and not yet freed; the pool filled; churn churned.
  const kinds = Object.fromEntries(profile.notGrowing!.map((stack) => [stack.frames.at(-1)!.name, stack.kind]));
  t.deepEqual(kinds, { burst_hold: 'plateau', pool_fill: 'plateau', churn_tick: 'churn' });
  t.false(profile.notGrowing!.some((stack) => leafIs(stack, 'made_before_attach')));
});

test('cut in the middle of a snapshot: the snapshots before it, the report partial', async (t) => {
  const ticks = lines.flatMap((line, index) => (line.includes('"memtrace:tick ') ? [index] : []));
  // Up to the third line of the seventh snapshot: its tick and one of its two maps.
  const cut = variant('cut.ndjson', `${lines.slice(0, ticks[6]! + 2).join('\n')}\n`);
  const profile = await readMallocLog(cut, { lenient: false });
  t.true(profile.partial);
  t.regex(profile.partialReason!, /cut\.ndjson has memtrace's header but not its trailer: the log was cut short/);
  t.is(profile.timeline!.times.length, 7, 'the start and six whole snapshots');
  t.true(profile.timeline!.times.every((time, index) => index === 0 || time > profile.timeline!.times[index - 1]!));
});

test('a snapshot without its start: an error naming the line, or malformed lines counted under --lenient', async (t) => {
  const index = lines.findIndex((line) => line.includes('"memtrace:tick '));
  const broken = variant('broken.ndjson', lines.filter((_, i) => i !== index).join('\n'));
  const error = await t.throwsAsync(() => readMallocLog(broken, { lenient: false }), { instanceOf: ParseError });
  t.regex(
    error!.message,
    new RegExp(`broken\\.ndjson:${index + 1}: .*expected @timeline_alloc inside a snapshot \\(after memtrace:tick NS MS\\)`),
  );
  const lenient = await readMallocLog(broken, { lenient: true });
  t.is(lenient.losses.skippedLines, 3, 'the end marker and the two maps of the snapshot without its start');
  t.is(lenient.timeline!.times.length, TICKS + 1);
});

test('an empty log: no timeline, nothing ranked, no error', async (t) => {
  const profile = await readMallocLog(variant('empty.ndjson', ''), { lenient: false });
  t.is(profile.timeline, undefined);
  t.is(profile.growth, undefined);
});
