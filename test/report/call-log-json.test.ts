import test from 'ava';
import { rankFunctionsByGrowth } from '../../src/model/call-log.js';
import { readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { renderCallLogJson } from '../../src/report/call-log-json.js';
import { fixture } from '../helpers/workloads.js';

test('json: the header, how reading went, every event in order with its fields first, the ranked functions', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/profile_default.log'), { lenient: false });
  const text = renderCallLogJson(log, rankFunctionsByGrowth(log.events));
  const json = JSON.parse(text) as Record<string, unknown> & {
    events: Array<Record<string, unknown>>;
    functions: Array<Record<string, unknown>>;
  };
  t.deepEqual(Object.keys(json), ['header', 'partial', 'partialReason', 'repeatedContext', 'badLines', 'events', 'messages', 'functions']);
  t.is(json.events.length, 20);
  t.deepEqual(Object.keys(json.events[0]!).slice(0, 6), ['event', 'file', 'line', 'function', 'rss', 'drss']);
  t.deepEqual(json.events[2], {
    event: 'C_RETURN',
    file: '/home/u/examples/cPyMemTrace/run_cpymemtrace.py',
    line: 28,
    function: 'log_file_path',
    rss: 9_555_968,
    drss: 24_576,
    number: 2,
    clock: 0.018619,
    role: 'next',
  });
  t.deepEqual(json.functions[0], {
    function: 'new_str',
    file: '/home/u/examples/cPyMemTrace/run_cpymemtrace.py',
    growth: 8_486_912,
    shrink: 0,
    events: 8,
    growthEvents: 8,
  });
  t.is(json.repeatedContext, 16);
  t.true(text.endsWith('}\n'));
});
