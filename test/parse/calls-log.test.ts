import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { CallsLogParser, looksLikeCallsLog, readCallsLog } from '../../src/parse/calls-log.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-calls-log-'));
function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}
const GROW = '/work/wt-calls/test/workloads/python/grow.py';

test('calls-grow.text.txt: the events in order, the context kept, ΔRSS from the record before', async (t) => {
  const log = await readCallsLog(fixture('bpftrace/debian12-0.17/calls-grow.text.txt'), { lenient: false });
  t.false(log.partial);
  t.is(log.header.trigger, 4096);
  t.is(log.header.lostEvents, 0);
  t.deepEqual(log.tracer, { seenEvents: 8, lineEvents: 62, notes: [] });
  t.deepEqual(
    log.events.map((event) => [event.number, event.role, event.event, event.function, event.line, event.rss, event.drss]),
    [
      [1, 'first', 'CALL', 'decode', 319, 8445952, 8445952],
      [3, 'prev', 'CALL', 'hold_out_grow', 20, 8445952, 0],
      [4, 'next', 'RETURN', 'hold_out_grow', 24, 32755712, 24309760],
      [5, 'prev', 'CALL', 'hold_out_release', 27, 32755712, 0],
      [6, 'next', 'RETURN', 'hold_out_release', 28, 8654848, -24100864],
      [8, 'last', 'RETURN', '', 51, 8654848, 0],
    ],
  );
  t.is(log.events[1]!.file, GROW);
  t.is(log.events[0]!.file, '<frozen codecs>');
});

test('calls-grow.json.ndjson: the json form reads into the same kind of log', async (t) => {
  const log = await readCallsLog(fixture('bpftrace/debian12-0.17/calls-grow.json.ndjson'), { lenient: false });
  t.deepEqual(
    log.events.map((event) => event.number),
    [1, 3, 4, 5, 6, 8],
  );
  t.is(log.events[2]!.drss, 32587776 - 8339456);
  t.deepEqual(log.tracer, { seenEvents: 8, lineEvents: 62, notes: [] });
});

test('calls-touch-pages.raw.ndjson: native events named from the function table, the raw header read', async (t) => {
  const log = await readCallsLog(fixture('bpftrace/debian12-0.17/calls-touch-pages.raw.ndjson'), { lenient: false });
  t.is(log.header.target?.pid, 29400);
  t.deepEqual(log.header.target?.command, ['test/workloads/bin/touch-pages', '2311', '2']);
  t.is(log.tracer?.lineEvents, null);
  t.deepEqual(log.tracer?.notes, ['test/workloads/bin/touch-pages is not a Python command: only the --func functions are traced']);
  t.deepEqual(
    log.events.map((event) => [event.event, event.function, event.drss]),
    [
      ['ENTRY', 'touch_pages', 1220608],
      ['RETURN', 'touch_pages', 9437184],
      ['ENTRY', 'drop_pages', 0],
      ['RETURN', 'drop_pages', -9416704],
      ['ENTRY', 'touch_pages', 0],
      ['RETURN', 'touch_pages', 9437184],
      ['ENTRY', 'drop_pages', 0],
      ['RETURN', 'drop_pages', -9437184],
    ],
  );
  t.true(log.events.every((event) => event.file === '/work/wt-calls/test/workloads/bin/touch-pages' && event.line === 0));
});

test('records that arrive out of order (per-CPU buffers) are put back in sequence order', (t) => {
  const parser = new CallsLogParser({ file: 'x', lenient: false });
  for (const line of [
    'memtrace:begin calls',
    'memtrace:calls 0 4096 0',
    'E\t2\t2\t300\t5\tf.py\tg',
    'E\t1\t1\t100\t4\tf.py\tg',
    'E\t3\t1\t250\t9\tf.py\th',
    'memtrace:end 3 3 0',
  ])
    parser.push(line);
  const log = parser.finish();
  t.deepEqual(
    log.events.map((event) => [event.number, event.role, event.drss]),
    [
      [1, 'first', 100],
      [2, 'next', 200],
      [3, 'next', -50],
    ],
  );
});

test('empty input: no events, partial, says the tracer never started', async (t) => {
  const log = await readCallsLog(write('empty.txt', ''), { lenient: false });
  t.deepEqual(log.events, []);
  t.true(log.partial);
  t.is(log.partialReason, 'the tracer never started (no memtrace:begin calls line)');
  t.is(log.header.lostEvents, null);
});

test('truncated input (cut before the end marker): what was read, marked partial, seen events unknown', async (t) => {
  const text = readFileSync(fixture('bpftrace/debian12-0.17/calls-grow.text.txt'), 'utf8').split('\n').slice(0, 6).join('\n');
  const log = await readCallsLog(write('cut.txt', text), { lenient: false });
  t.true(log.partial);
  t.is(log.partialReason, 'the trace was cut before its end marker (memtrace:end)');
  t.deepEqual(
    log.events.map((event) => event.number),
    [1, 3, 4],
  );
  t.is(log.tracer?.seenEvents, null);
});

test('a garbled record is a ParseError naming the file and line; lenient counts it', async (t) => {
  const lines = readFileSync(fixture('bpftrace/debian12-0.17/calls-grow.text.txt'), 'utf8').split('\n');
  lines[4] = 'E\t3\tone\t8339456';
  const path = write('garbled.txt', lines.join('\n'));
  const error = await t.throwsAsync(readCallsLog(path, { lenient: false }), { instanceOf: ParseError });
  t.regex(error!.message, new RegExp(`^${path}:5: not valid memtrace calls output: expected an event record`));
  const log = await readCallsLog(path, { lenient: true });
  t.is(log.badLines, 1);
  t.is(log.events.length, 5);
});

test('a native record naming an undeclared function is malformed', (t) => {
  const parser = new CallsLogParser({ file: 'x.log', lenient: false });
  parser.push('memtrace:begin calls');
  const error = t.throws(() => parser.push('E\t1\t3\t4096\t7'), { instanceOf: ParseError });
  t.regex(error!.message, /^x\.log:2: .*a native function id declared by a memtrace:func line \(got 7\)/);
});

test('lost-event notices are counted into the header', (t) => {
  const parser = new CallsLogParser({ file: 'x', lenient: false });
  for (const line of [
    'memtrace:begin calls',
    'E\t1\t1\t100\t4\tf.py\tg',
    'Lost 17 events',
    '{"type": "lost_events", "data": {"events": 6}}',
    'memtrace:end 40 1 0',
  ])
    parser.push(line);
  t.is(parser.finish().header.lostEvents, 23);
});

test('looksLikeCallsLog: the begin marker or memtrace raw header, not other logs', (t) => {
  t.true(looksLikeCallsLog('Attaching 5 probes...\nmemtrace:begin calls\n'));
  t.true(looksLikeCallsLog('{"type":"memtrace_calls_header","data":{}}\n'));
  t.false(looksLikeCallsLog('Attaching 21 probes...\nmemtrace:begin malloc\n'));
});
