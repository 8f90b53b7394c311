import { createReadStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { CPyMemTraceLogReader, looksLikeCPyMemTraceLog, readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-cpymemtrace-'));
function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}
const TRACE = readFileSync(fixture('pymemtrace/trace_default.log'), 'utf8');
const TRACE_LINES = TRACE.split('\n');
/** trace_default.log with line `lineNumber` (1-based) replaced. */
function traceWith(lineNumber: number, text: string): string {
  return TRACE_LINES.map((line, index) => (index === lineNumber - 1 ? text : line)).join('\n');
}

test('trace_default.log: each event once in order, the PREV repeats counted, a Trace, CPU clock', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/trace_default.log'), { lenient: false });
  t.deepEqual(log.header, {
    tool: 'calls',
    source: 'cpymemtrace',
    mode: 'trace',
    target: null,
    start: null,
    host: null,
    clock: 'cpu',
    message: null,
    trigger: null,
    lostEvents: null,
  });
  t.is(log.events.length, 15);
  t.is(log.repeatedContext, 12);
  t.false(log.partial);
  t.is(log.badLines, 0);
  t.deepEqual(
    log.events.map((event) => event.number),
    [0, 1, 8, 13, 18, 23, 28, 33, 38, 43, 49, 53, 57, 61, 64],
  );
  t.deepEqual(
    log.events.map((event) => event.role),
    ['first', ...Array(13).fill('next'), 'last'],
  );
  t.deepEqual(log.events[2], {
    event: 'RETURN',
    file: '/home/u/examples/cPyMemTrace/run_cpymemtrace.py',
    line: 11,
    function: 'new_str',
    rss: 10_719_232,
    drss: 917_504,
    number: 8,
    clock: 0.031629,
    role: 'next',
  });
  t.deepEqual(log.events[14], {
    event: 'LINE',
    file: '/home/u/examples/cPyMemTrace/run_cpymemtrace.py',
    line: 37,
    function: 'main',
    rss: 9_801_728,
    drss: 0,
    number: 64,
    clock: 0.036815,
    role: 'last',
  });
  t.is(log.events[10]!.drss, -1_970_176);
});

test('profile_default.log: C calls and returns, 20 events, 16 PREV repeats, a Profile', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/profile_default.log'), { lenient: false });
  t.is(log.header.mode, 'profile');
  t.is(log.events.length, 20);
  t.is(log.repeatedContext, 16);
  t.deepEqual(
    log.events.slice(1, 3).map((event) => [event.event, event.function, event.rss, event.drss]),
    [
      ['C_CALL', 'log_file_path', 9_531_392, 9_531_392],
      ['C_RETURN', 'log_file_path', 9_555_968, 24_576],
    ],
  );
  t.is(log.events.filter((event) => event.event === 'C_CALL' && event.function === 'len').length, 8);
});

test('file paths with spaces, one wider than its column, exceptions, and an event with no Python frame', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/spaces-and-exceptions.log'), { lenient: false });
  t.is(log.events.length, 7);
  t.is(log.repeatedContext, 4);
  t.like(log.events[0], { file: '/home/u/My Projects/memory demo/run it.py', line: 5, function: '<module>' });
  t.like(log.events[3], {
    event: 'EXCEPT',
    file: '/home/u/a/very/long/path/to/a/virtual/environment/lib/python3.11/site-packages/some_package/module.py',
    line: 120,
    function: 'parse',
    drss: 65_536,
  });
  t.like(log.events[4], { event: 'C_EXCEPT', function: 'loads', line: 20 });
  t.like(log.events[5], { event: 'C_RETURN', file: '', line: 0, function: '', rss: 10_682_368, drss: -1_048_576 });
  // Both Trace-only (EXCEPT) and Profile-only (C_EXCEPT) events: the log does not say which it is.
  t.is(log.header.mode, null);
});

test('a message in place of SOF, a header without HDR: or Clock', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/message-no-clock.log'), { lenient: false });
  // Only LINE (FRST, LAST) and RETURN events, which Trace and Profile both log: the mode is unknown.
  t.like(log.header, { message: 'memory of the demo, first pass', clock: null, mode: null });
  t.deepEqual(
    log.events.map((event) => [event.number, event.clock, event.function, event.rss]),
    [
      [0, null, '<module>', 8_388_608],
      [4, null, 'build', 12_582_912],
      [8, null, 'build', 16_777_216],
      [11, null, '<module>', 16_777_216],
    ],
  );
});

test('the latest layout: a message before SOF, and MSG: lines the program wrote, kept in order apart from the events', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/messages.log'), { lenient: false });
  t.is(log.header.message, 'nightly load test');
  t.deepEqual(
    log.events.map((event) => event.number),
    [0, 1, 7, 12, 15],
  );
  t.is(log.repeatedContext, 2);
  t.deepEqual(log.messages, [
    { number: 8, clock: 0.0412, text: 'loaded the first batch' },
    { number: 13, clock: 0.0421, text: 'loaded the second batch' },
  ]);
  t.true(looksLikeCPyMemTraceLog(readFileSync(fixture('pymemtrace/messages.log'), 'utf8')));
});

test("cPyMemTrace's default file name gives the PID and the UTC start", async (t) => {
  const log = await readCPyMemTraceLog(write('20261123_213640_9007.log', TRACE), { lenient: false });
  t.deepEqual(log.header.target, { pid: 9007 });
  t.is(log.header.start, '2026-11-23T21:36:40Z');
  const profile = await readCPyMemTraceLog(write('20241107_195847_62264_P_0_PY3.13.0b3.log', TRACE), { lenient: false });
  t.like(profile.header, { mode: 'profile', target: { pid: 62264 }, start: '2024-11-07T19:58:47Z' });
  const counted = await readCPyMemTraceLog(write('20241107_195847_17_62265_T_1_PY3.13.0b3.log', TRACE), { lenient: false });
  t.like(counted.header, { mode: 'trace', target: { pid: 62265 } });
});

test('empty input: an error naming line 1 and what was expected', async (t) => {
  await t.throwsAsync(readCPyMemTraceLog(write('empty.log', ''), { lenient: true }), {
    instanceOf: ParseError,
    message: /empty\.log:1: not valid cPyMemTrace log: expected SOF and a column header; the file is empty/,
  });
  await t.throwsAsync(readCPyMemTraceLog(write('blank.log', '\n\n'), { lenient: false }), {
    message: /blank\.log:2: not valid cPyMemTrace log: expected SOF and a column header; the file is empty/,
  });
  await t.throwsAsync(readCPyMemTraceLog(write('sof.log', 'SOF\n'), { lenient: true }), {
    message: /sof\.log:1: .*expected the column header; the log stops before it/,
  });
});

test('truncated: cut mid-line with no EOF, what was read is kept and marked partial', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/profile-cut.log'), { lenient: false });
  t.true(log.partial);
  t.is(
    log.partialReason,
    'no EOF line, and line 12 is cut short: the log is cut (the program was killed, or the file was copied while written)',
  );
  t.deepEqual(
    log.events.map((event) => event.number),
    [0, 1, 2, 11, 15, 19],
  );
  t.is(log.repeatedContext, 3);
  t.is(log.badLines, 0);
  const atLineEnd = await readCPyMemTraceLog(write('no-eof.log', TRACE_LINES.slice(0, 10).join('\n')), { lenient: false });
  t.true(atLineEnd.partial);
  t.is(atLineEnd.partialReason, 'no EOF line: the log is cut (the program was killed, or the file was copied while written)');
  t.is(atLineEnd.events.length, 5);
});

test('garbled: the file, the line and what was expected; --lenient counts the line and reads on', async (t) => {
  const garbled = write('garbled.log', traceWith(6, 'NEXT: 8 +7 0.031629 RETURN'));
  await t.throwsAsync(readCPyMemTraceLog(garbled, { lenient: false }), {
    instanceOf: ParseError,
    message:
      /garbled\.log:6: not valid cPyMemTrace log: expected an event: number, \+dEvent, clock \(seconds\), what, file, line, function, RSS, dRSS: "NEXT: 8 \+7 0\.031629 RETURN"/,
  });
  const lenient = await readCPyMemTraceLog(garbled, { lenient: true });
  t.is(lenient.badLines, 1);
  t.false(lenient.partial);
  // The garbled NEXT is gone; its PREV (line 8) is then an event of its own.
  t.deepEqual(
    lenient.events.slice(0, 4).map((event) => [event.number, event.role]),
    [
      [0, 'first'],
      [1, 'next'],
      [8, 'prev'],
      [13, 'next'],
    ],
  );
});

test('malformed in other ways: a PREV that contradicts its NEXT, numbers going back, an unknown kind, text after EOF, no header', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'prev.log',
      traceWith(7, TRACE_LINES[6]!.replace('10719232', '10719233')),
      /prev\.log:7: .*expected a PREV line that repeats event 8 as logged above, or a later event/,
    ],
    [
      'back.log',
      traceWith(10, TRACE_LINES[9]!.replace('NEXT: 18          ', 'NEXT: 5           ')),
      /back\.log:10: .*expected an event number above 13 \(events are logged in order\)/,
    ],
    [
      'kind.log',
      traceWith(10, TRACE_LINES[9]!.replace('RETURN  ', 'RETRUN  ')),
      /kind\.log:10: .*expected an event kind, one of CALL, EXCEPT, EXCEPTION, LINE, RETURN, C_CALL, C_EXCEPT, C_RETURN, OPCODE, not RETRUN/,
    ],
    ['after.log', `${TRACE}SOF\n`, /after\.log:31: .*expected nothing after EOF \(two logs joined into one file\?\): "SOF"/],
    [
      'note.log',
      traceWith(10, 'step 2 done'),
      /note\.log:10: .*expected an event line \(FRST:, NEXT:, PREV: or LAST:, then the columns of the header\); a line the traced program wrote into the log\? --lenient counts such lines: "step 2 done"/,
    ],
    ['frst.log', traceWith(10, TRACE_LINES[9]!.replace('NEXT:', 'FRST:')), /frst\.log:10: .*expected FRST only on the first event/],
  ];
  for (const [name, text, message] of cases)
    await t.throwsAsync(readCPyMemTraceLog(write(name, text), { lenient: false }), { instanceOf: ParseError, message }, name);
  const lenient = await readCPyMemTraceLog(write('prev-lenient.log', cases[0]![1]), { lenient: true });
  t.is(lenient.badLines, 1);
  t.is(lenient.events.length, 15);
  // Without its column header nothing after can be read, lenient or not.
  await t.throwsAsync(readCPyMemTraceLog(write('noheader.log', traceWith(2, '')), { lenient: true }), {
    message: /noheader\.log:3: .*expected the column header "HDR: Event dEvent Clock What File Line Function RSS dRSS"/,
  });
});

test('the reader is a state machine fed line by line: 7-byte chunks and CRLF line ends read the same', async (t) => {
  const whole = await readCPyMemTraceLog(fixture('pymemtrace/profile_default.log'), { lenient: false });
  const reader = new CPyMemTraceLogReader(fixture('pymemtrace/profile_default.log'), { lenient: false });
  const lines = createInterface({
    input: createReadStream(fixture('pymemtrace/profile_default.log'), { encoding: 'utf8', highWaterMark: 7 }),
    crlfDelay: Infinity,
  });
  for await (const line of lines) reader.line(line);
  t.deepEqual(reader.end(), whole);
  const crlf = await readCPyMemTraceLog(
    write('crlf.log', readFileSync(fixture('pymemtrace/profile_default.log'), 'utf8').replaceAll('\n', '\r\n')),
    { lenient: false },
  );
  t.deepEqual(crlf.events, whole.events);
});

test('detection: SOF, a column header first, or a message then a column header; not a process log', (t) => {
  t.true(looksLikeCPyMemTraceLog(TRACE.slice(0, 4096)));
  t.true(looksLikeCPyMemTraceLog(TRACE_LINES.slice(1).join('\n')));
  t.true(looksLikeCPyMemTraceLog(readFileSync(fixture('pymemtrace/message-no-clock.log'), 'utf8')));
  t.false(looksLikeCPyMemTraceLog(readFileSync(fixture('process/pymemtrace-linux.log'), 'utf8')));
  t.false(looksLikeCPyMemTraceLog(''));
});
