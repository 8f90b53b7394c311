import { csvParse, tsvParse } from 'd3-dsv';
import test from 'ava';
import type { CallLog } from '../../src/model/call-log.js';
import { readCPyMemTraceLog } from '../../src/parse/cpymemtrace-log.js';
import { renderCallLogCsv, renderCallLogTsv } from '../../src/report/call-log-dsv.js';
import { fixture } from '../helpers/workloads.js';

test('tsv: one row per event, figures as logged, file names with spaces kept', async (t) => {
  const log = await readCPyMemTraceLog(fixture('pymemtrace/spaces-and-exceptions.log'), { lenient: false });
  const text = renderCallLogTsv(log);
  const lines = text.trimEnd().split('\n');
  t.is(lines[0], 'number\trole\tclock\tevent\tfile\tline\tfunction\trss\tdrss');
  t.is(lines[1], '0\tfirst\t0.021\tLINE\t/home/u/My Projects/memory demo/run it.py\t5\t<module>\t9437184\t9437184');
  t.is(lines[6], '17\tnext\t0.0238\tC_RETURN\t\t0\t\t10682368\t-1048576');
  t.is(tsvParse(text).length, 7);
});

test('csv: the same rows, quoted where a field holds a comma or a quote', (t) => {
  const log: CallLog = {
    header: {
      tool: 'calls',
      source: 'memtrace',
      mode: null,
      target: null,
      start: null,
      host: null,
      clock: null,
      message: null,
      trigger: null,
      lostEvents: null,
    },
    events: [
      { event: 'CALL', file: '/srv/a, "b".py', line: 3, function: 'f', rss: 8192, drss: 4096, number: 7, clock: null, role: 'event' },
    ],
    partial: false,
    partialReason: null,
    messages: [],
    repeatedContext: 0,
    badLines: 0,
  };
  const text = renderCallLogCsv(log);
  t.is(text, 'number,role,clock,event,file,line,function,rss,drss\n7,event,,CALL,"/srv/a, ""b"".py",3,f,8192,4096\n');
  t.is(csvParse(text)[0]!.file, '/srv/a, "b".py');
});
