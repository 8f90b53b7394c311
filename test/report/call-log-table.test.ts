import test from 'ava';
import { rankFunctionsByGrowth, type CallEvent, type CallLog } from '../../src/model/call-log.js';
import { readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { renderCallLogTable } from '../../src/report/call-log-table.js';
import { fixture } from '../helpers/workloads.js';

const trace = () => readCPyMemTraceLog(fixture('pymemtrace/trace_default.log'), { lenient: false });

function synthetic(events: CallEvent[], extra: Partial<CallLog> = {}): CallLog {
  return {
    header: {
      tool: 'calls',
      source: 'memtrace',
      mode: null,
      target: { pid: 4242 },
      start: '2026-12-01T19:00:00Z',
      host: 'box',
      clock: 'elapsed',
      message: null,
      trigger: null,
      lostEvents: null,
    },
    events,
    partial: false,
    partialReason: null,
    messages: [],
    repeatedContext: 0,
    badLines: 0,
    ...extra,
  };
}

test('trace_default.log: header, every event with RSS and ΔRSS, the functions ranked by growth, in 80 columns', async (t) => {
  const log = await trace();
  const text = renderCallLogTable(log, rankFunctionsByGrowth(log.events), { title: 'cPyMemTrace trace log: trace_default.log' });
  const lines = text.split('\n');
  t.deepEqual(lines.slice(0, 10), [
    'cPyMemTrace trace log: trace_default.log',
    '12 PREV lines repeated the event logged before them (each kept once)',
    '15 events (numbers 0 to 64), clock 0.031050 s to 0.036815 s (CPU time)',
    'RSS: first 9.29 MiB, last 9.35 MiB (+64.0 KiB)',
    'Peak RSS: 17.2 MiB at event 43 (new_str)',
    'Kinds: LINE 7, RETURN 8',
    '',
    'Events',
    'Event   Clock s  What         RSS       ΔRSS  Function (file:line)',
    '    0  0.031050  LINE    9.29 MiB     from 0  main (run_cpymemtrace.py:37)',
  ]);
  t.true(lines.includes('    8  0.031629  RETURN  10.2 MiB   +896 KiB  new_str (run_cpymemtrace.py:11)'));
  t.true(lines.includes('   43  0.035685  RETURN  17.2 MiB  +1.00 MiB  new_str (…pymemtrace.py:11) (peak)'));
  t.true(lines.includes('   49  0.035986  LINE    15.3 MiB  -1.88 MiB  doc_like_workload (…emtrace.py:19)'));
  t.deepEqual(
    lines.slice(-6),
    [
      'Functions by RSS growth (sum of the positive ΔRSS of their events)',
      '  Growth     Shrink  Events  Function           File',
      '7.88 MiB        0 B       8  new_str            …/cPyMemTrace/run_cpymemtrace.py',
      '     0 B  -7.88 MiB       4  doc_like_workload  …/cPyMemTrace/run_cpymemtrace.py',
      '     0 B        0 B       3  main               …/cPyMemTrace/run_cpymemtrace.py',
    ].concat(['']),
  );
  t.is(lines.filter((line) => /^ {0,4}\d+ {2}0\.0/.test(line)).length, 15);
  t.true(
    lines.every((line) => [...line].length <= 80),
    lines.find((line) => [...line].length > 80),
  );
});

test('a long log shows 50 events (first, last, peak, largest moves) and says how many it left out; --top', (t) => {
  // given: 101 events, the 20 at every fifth number from 5 moving by 1 MiB, the rest by one page
  const events: CallEvent[] = [];
  let rss = 64 * 1024 * 1024;
  for (let number = 0; number <= 100; number += 1) {
    const drss = number === 0 ? rss : number % 5 === 0 ? 1_048_576 : 4096;
    if (number > 0) rss += drss;
    events.push({
      event: 'CALL',
      file: `/srv/app/f${number % 3}.py`,
      line: number,
      function: `f${number % 3}`,
      rss,
      drss,
      number,
      clock: number / 1000,
      role: 'next',
    });
  }
  // when
  const text = renderCallLogTable(synthetic(events), rankFunctionsByGrowth(events), { title: 'calls', top: 2 });
  // then
  const rows = text.split('\n').filter((line) => /^ +\d+ {2}0\.\d{6}/.test(line));
  t.is(rows.length, 50);
  t.regex(rows[0]!, /^ {4}0 {2}0\.000000 {2}CALL/);
  t.regex(rows.at(-1)!, /^ {2}100 {2}0\.100000 .* \(peak\)$/);
  t.is(rows.filter((row) => row.includes('+1.00 MiB')).length, 20);
  t.regex(text, /\n\(51 of 101 events not shown, the smallest moves: see json\/tsv\/csv\)\n/);
  t.regex(text, /\n\(1 more functions; --top N shows more\)\n$/);
  t.regex(text, /^PID 4242, from 2026-12-01T19:00:00Z, on box$/m);
  t.regex(text, /clock 0\.000000 s to 0\.100000 s\n/);
});

test("the program's messages, after the events", async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/messages.log'), { lenient: false });
  const text = renderCallLogTable(log, rankFunctionsByGrowth(log.events), { title: 'messages.log' });
  t.regex(text, /^message: nightly load test$/m);
  t.regex(
    text,
    /\n\nMessages the program wrote into the log\n {2}at event 8: loaded the first batch\n {2}at event 13: loaded the second batch\n\nFunctions by RSS growth/,
  );
});

test('partial, lenient and empty logs say so', (t) => {
  const event: CallEvent = { event: 'LINE', file: '', line: 0, function: '', rss: 4096, drss: 4096, number: 0, clock: null, role: 'first' };
  const text = renderCallLogTable(synthetic([event], { partial: true, partialReason: 'no EOF line: the log is cut', badLines: 3 }), [], {
    title: 'x',
  });
  t.regex(text, /^PARTIAL: no EOF line: the log is cut$/m);
  const counted = renderCallLogTable(synthetic([event], { header: { ...synthetic([]).header, trigger: 4096, lostEvents: 23 } }), [], {
    title: 'x',
  });
  t.regex(counted, /^Events logged when RSS moved by at least 4\.00 KiB\n23 events lost by the tracer: the figures below miss them$/m);
  t.regex(text, /^3 unreadable lines were skipped \(--lenient\)$/m);
  t.regex(text, /^1 events \(number 0\)$/m);
  t.regex(text, /^Event  What       RSS    ΔRSS  Function \(file:line\)\n {4}0  LINE  4\.00 KiB  from 0  \(no frame\) \(peak\)$/m);
  t.is(renderCallLogTable(synthetic([]), [], { title: 'empty' }), 'empty\nPID 4242, from 2026-12-01T19:00:00Z, on box\nNo events.\n');
});

test('a memtrace calls log: events seen against logged, line events, and the notes on what is not seen', (t) => {
  const tracer = { seenEvents: 1663, lineEvents: 4319, notes: ['not seen: builtin C functions'] };
  const lines = renderCallLogTable(synthetic([], { tracer }), [], { title: 'x' }).split('\n');
  t.deepEqual(lines.slice(2, 5), [
    '1,663 events seen by the probes, 0 logged; 4,319 line events counted',
    'Note: not seen: builtin C functions',
    'No events.',
  ]);
});
