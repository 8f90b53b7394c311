import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { looksLikeCallLogJson, readCallLogJson } from '../../src/parse/call-log-json.js';
import { readCallsLog } from '../../src/parse/calls-log.js';
import { rankFunctionsByGrowth } from '../../src/model/call-log.js';
import { renderCallLogJson } from '../../src/report/call-log-json.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-call-log-json-'));
function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

test('a json report reads back into the log it was rendered from', async (t) => {
  const log = await readCallsLog(fixture('bpftrace/debian12-0.17/calls-touch-pages.raw.ndjson'), { lenient: false });
  const text = renderCallLogJson(log, rankFunctionsByGrowth(log.events));
  t.true(looksLikeCallLogJson(text.split('\n')[0]!, text));
  t.deepEqual(await readCallLogJson(write('report.json', text)), log);
});

test('a malloc json report is not a call log', (t) => {
  t.false(looksLikeCallLogJson('{', '{\n  "tool": "malloc",\n  "schema": 1'));
});

test('empty, truncated and garbled reports are ParseErrors', async (t) => {
  const log = await readCallsLog(fixture('bpftrace/debian12-0.17/calls-grow.text.txt'), { lenient: false });
  const text = renderCallLogJson(log, rankFunctionsByGrowth(log.events));
  await t.throwsAsync(readCallLogJson(write('empty.json', '')), { instanceOf: ParseError, message: /expected valid JSON/ });
  await t.throwsAsync(readCallLogJson(write('cut.json', text.slice(0, 400))), {
    instanceOf: ParseError,
    message: /expected valid JSON \(is the file cut short\?\)/,
  });
  const garbled = text.replace('"rss": 8445952', '"rss": "8445952"');
  await t.throwsAsync(readCallLogJson(write('garbled.json', garbled)), {
    instanceOf: ParseError,
    message: /expected events\[0\] with event, file, line, function, rss, drss and number/,
  });
});
