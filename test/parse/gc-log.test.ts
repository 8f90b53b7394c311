// The gc program's output, recorded from real runs (test/fixtures/bpftrace/debian12-0.17/README.md),
// read line by line: text and -f json forms, memtrace's raw log, and empty, cut and garbled input.
import test from 'ava';
import { GcLogParser, parseGcLogFile } from '../../src/parse/gc-log.js';
import { fixture } from '../helpers/workloads.js';

const FIXTURES = 'bpftrace/debian12-0.17';

test('gc-forced-23.text.txt: 23 mark-compact records (collector 1, reason 21), begin and end, one banner', async (t) => {
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23.text.txt`));
  t.is(raw.beginNs, 2535398981931);
  t.is(raw.endNs, 2537320525195);
  t.is(raw.collections.length, 23);
  t.true(raw.collections.every((c) => c.collector === 1 && c.reason === 21 && c.tid === 5388));
  t.deepEqual(raw.collections[0], {
    startNs: 2536672882622,
    pauseNs: 6911001,
    tid: 5388,
    collector: 1,
    reason: 21,
    rssBeforeBytes: 44261376,
    rssAfterBytes: 44654592,
  });
  t.is(
    raw.collections.reduce((sum, c) => sum + c.pauseNs, 0),
    140056627,
  );
  t.is(raw.noiseLines, 1);
  t.is(raw.lines.foreign, 0);
  t.is(raw.lostEvents, 0);
  t.false(raw.truncated);
});

test('gc-forced-23.json.ndjson: the same run seen by a second bpftrace with -f json', async (t) => {
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23.json.ndjson`));
  t.is(raw.collections.length, 23);
  t.true(raw.collections.every((c) => c.collector === 1 && c.reason === 21));
  t.is(
    raw.collections.reduce((sum, c) => sum + c.pauseNs, 0),
    139562582,
  );
  t.is(raw.beginNs, 2536023140131);
  t.is(raw.endNs, 2537324465595);
  t.is(raw.noiseLines, 1);
});

test('gc-alloc-loop.text.txt: 57 scavenges for allocation failure, 1 mark-compact finalizing incremental marking', async (t) => {
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-alloc-loop.text.txt`));
  t.is(raw.collections.filter((c) => c.collector === 0 && c.reason === 1).length, 57);
  t.deepEqual(
    raw.collections.filter((c) => c.collector === 1).map((c) => [c.reason, c.pauseNs]),
    [[8, 16434502]],
  );
});

test("gc-raw-launch.ndjson: memtrace's header and trailer records are kept", async (t) => {
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-raw-launch.ndjson`));
  t.is(raw.collections.length, 23);
  t.is((raw.header?.target as { command: string[] }).command.join(' '), 'node --expose-gc test/workloads/node/gc-forced.js 23');
  t.is((raw.header?.probe as { kind: string }).kind, 'symbol');
  t.deepEqual(Object.keys(raw.trailer ?? {}), ['partialReason', 'durationSeconds', 'notes']);
});

test('pushed line by line, the parser gives what the streaming file reader gives', async (t) => {
  const parser = new GcLogParser({ file: 'lines' });
  const { readFileSync } = await import('node:fs');
  for (const line of readFileSync(fixture(`${FIXTURES}/gc-forced-23.text.txt`), 'utf8').split('\n')) parser.push(line);
  t.deepEqual(parser.finish(), await parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23.text.txt`)));
});

test('empty input: an error saying the begin marker was expected', async (t) => {
  await t.throwsAsync(parseGcLogFile(fixture(`${FIXTURES}/empty.txt`)), {
    message: /empty\.txt:1: not valid memtrace gc trace .*: expected "memtrace:begin gc NS", but the input is empty/,
  });
});

test('truncated: a log cut inside its 12th record keeps 11 collections and is marked truncated', async (t) => {
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23-truncated.text.txt`));
  t.is(raw.collections.length, 11);
  t.true(raw.truncated);
  t.is(raw.endNs, null);
});

test('garbled: the broken record names its line; --lenient counts it and keeps the other 22', async (t) => {
  await t.throwsAsync(parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23-garbled.text.txt`)), {
    message:
      /gc-forced-23-garbled\.text\.txt:7: not valid memtrace gc trace .*: expected a gc record "G START_NS PAUSE_NS TID COLLECTOR REASON RSS_BEFORE RSS_AFTER" \(7 integers\): "G 12 x%%garbage%%"/,
  });
  const raw = await parseGcLogFile(fixture(`${FIXTURES}/gc-forced-23-garbled.text.txt`), { lenient: true });
  t.is(raw.collections.length, 22);
  t.is(raw.lines.malformed, 1);
});

const malformed = test.macro((t, lines: string[], message: RegExp) => {
  const parser = new GcLogParser({ file: 'input' });
  t.throws(
    () => {
      for (const line of lines) parser.push(line);
      parser.finish();
    },
    { message },
  );
});
test(
  'a record cut mid-line followed by more lines is broken, not truncated',
  malformed,
  ['memtrace:begin gc 5', 'G 1 2 3', 'memtrace:end 9'],
  /input:2: .*expected a gc record/,
);
test(
  'a record before the begin marker',
  malformed,
  ['G 1 2 3 1 21 4096 4096'],
  /input:1: .*expected "memtrace:begin gc NS" before the first gc record/,
);
test('json cut in the middle', malformed, ['{"type": "printf", "data": "memtrace:beg'], /input:1: .*complete JSON object/);
test('a map in a gc trace', malformed, ['memtrace:begin gc 5', '@gc[12]: (1, 2, 3, 4)'], /input:2: .*a gc record, not a bpftrace map/);
test(
  'text without the begin marker',
  malformed,
  ['hello', 'world'],
  /input:2: .*expected "memtrace:begin gc NS" before the end of the input/,
);

test("lost events and a target's own output are counted, never dropped silently", (t) => {
  const parser = new GcLogParser({ file: 'input' });
  for (const line of [
    'Attaching 4 probes...',
    'memtrace:begin gc 1000',
    'hello from node',
    'G 2000 500 7 0 1 4096 8192',
    'Lost 3 events',
    '{"type": "lost_events", "data": {"events": 4}}',
    'memtrace:end 9000',
  ])
    parser.push(line);
  const raw = parser.finish();
  t.is(raw.lostEvents, 7);
  t.is(raw.lines.foreign, 1);
  t.is(raw.noiseLines, 1);
  t.is(raw.collections.length, 1);
  t.is(raw.collections[0]!.reason, 1);
});

test('reason -1 (USDT probes carry none) becomes null; records are put in start order', (t) => {
  const parser = new GcLogParser({ file: 'input' });
  for (const line of ['memtrace:begin gc 1000', 'G 3000 10 8 4 -1 0 0', 'G 2000 5000 7 1 -1 0 0']) parser.push(line);
  const raw = parser.finish();
  t.deepEqual(
    raw.collections.map((c) => [c.startNs, c.reason]),
    [
      [2000, null],
      [3000, null],
    ],
  );
});
