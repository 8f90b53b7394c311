import test from 'ava';
import { rankFunctionsByGrowth } from '../../src/model/call-log.js';
import { readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { renderCallLogSvg } from '../../src/report/call-log-svg.js';
import { fixture } from '../helpers/workloads.js';

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

test('svg: RSS over the CPU clock, a dot per event with its tooltip, red where RSS grew, self-contained', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/trace_default.log'), { lenient: false });
  const svg = renderCallLogSvg(log, rankFunctionsByGrowth(log.events), { title: 'trace_default.log' });
  t.true(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="480"'));
  t.true(svg.endsWith('</svg>\n'));
  t.regex(svg, />RSS at each event: trace_default\.log</);
  t.regex(svg, />15 events; peak RSS 17\.2 MiB at event 43 \(new_str\); most growth: new_str \+7\.88 MiB</);
  t.regex(svg, />process CPU time \(the tracer’s clock\)</);
  t.is(count(svg, /<circle class="event"/g), 15);
  t.is(count(svg, /<circle class="event"[^>]*fill="#c92a2a"/g), 8);
  t.is(count(svg, /<circle class="event"[^>]*fill="#2f9e44"/g), 4);
  t.regex(
    svg,
    /<title>event 43 RETURN new_str \/home\/u\/examples\/cPyMemTrace\/run_cpymemtrace\.py:11: RSS 17\.2 MiB, ΔRSS \+1\.00 MiB<\/title>/,
  );
  t.regex(svg, /<title>event 0 LINE main [^<]*: RSS 9\.29 MiB, first reading<\/title>/);
  const points = /<polyline class="series" data-name="RSS" points="([^"]+)"/.exec(svg)![1]!.split(' ');
  t.is(points.length, 15);
  // x from the first clock reading (the left edge, 84) to the last (the right edge, 976).
  t.is(points[0]!.split(',')[0], '84');
  t.is(points.at(-1)!.split(',')[0], '976');
  t.notRegex(svg, /<script|href=/);
});

test('svg of a log without clock plots against the event number; a partial log says so in red', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/message-no-clock.log'), { lenient: false });
  const svg = renderCallLogSvg({ ...log, partial: true, partialReason: 'no EOF line: the log is cut' }, rankFunctionsByGrowth(log.events), {
    title: 'demo',
  });
  t.regex(svg, />event number</);
  t.regex(svg, /fill="#c92a2a">PARTIAL: no EOF line: the log is cut</);
  t.is(count(svg, /<circle class="event"/g), 4);
  const empty = renderCallLogSvg({ ...log, events: [] }, [], { title: 'empty' });
  t.regex(empty, />0 events</);
  t.true(empty.endsWith('</svg>\n'));
});

test("svg: the program's messages as dashed verticals with their text", async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/messages.log'), { lenient: false });
  const svg = renderCallLogSvg(log, rankFunctionsByGrowth(log.events), { title: 'messages.log' });
  t.is(count(svg, /<line class="message"/g), 2);
  t.regex(svg, /<title>at event 13: loaded the second batch<\/title><\/line>/);
  t.regex(svg, />message<\/text>/);
});
