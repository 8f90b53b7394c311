import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { detectProcessLog, isCPyMemTraceLog, readProcessLog } from '../../src/parse/process-log.js';
import { fixture } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-process-log-'));
function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

test('pymemtrace on Linux: every JSON record a sample, labels as marks, START and STOP', async (t) => {
  const series = await readProcessLog(fixture('process/pymemtrace-linux.log'), { lenient: false });
  t.like(series.header, {
    tool: 'process',
    source: 'pymemtrace',
    target: { pid: 9007 },
    interval: 0.251,
    start: '2026-11-23T21:36:40.742',
  });
  t.is(series.samples.length, 10);
  t.deepEqual(series.samples[0], {
    t: '2026-11-23T21:36:41.478378',
    elapsed: 0.7359094619750977,
    pid: 9007,
    rss: 49201152,
    vsz: 128937984,
  });
  t.deepEqual(
    series.marks.map((mark) => mark.text),
    ['step 0: allocate 32 MiB', 'step 1: allocate 32 MiB', 'step 2: allocate 32 MiB', 'step 3: allocate 32 MiB', 'free all'],
  );
  t.true(series.marks.every((mark) => mark.source === 'log'));
  t.is(Math.max(...series.samples.map((sample) => sample.rss)), 149901312);
  t.like(series.stop, { reason: 'stopped', samples: 10, elapsed: 2.9624178409576416 });
});

test('pymemtrace on macOS: its memory_info has no "shared", and other log lines are skipped', async (t) => {
  const series = await readProcessLog(fixture('process/pymemtrace-macos.log'), { lenient: false });
  t.is(series.samples.length, 28);
  t.is(series.marks.length, 8);
  t.is(series.marks[0]!.text, 'String of 305.000 MB');
  t.is(series.samples[1]!.rss, 338522112);
  t.is(series.header.target.pid, 25676);
});

test('memtrace logs: header, samples with heap figures or children, marks, stop', async (t) => {
  const node = await readProcessLog(fixture('process/node-rss-steps.jsonl'), { lenient: false });
  t.like(node.header, { tool: 'process', version: 1, source: 'memtrace', interval: 0.25 });
  t.is(node.samples.length, 15);
  t.true(node.samples.slice(1).every((sample) => sample.heapUsed! > 0));
  t.like(node.stop, { reason: 'target-exited', exitCode: 0, samples: 15 });
  // Heap counts in the stop record (memtrace since issue 14) are read as written.
  const heap = { samples: 14, beforeFirst: 1, late: 0, via: 'inspector' };
  const header =
    '{"type":"header","tool":"process","version":1,"source":"memtrace","target":{"pid":5},"interval":1,"host":"h","platform":"linux","start":"2026-11-24T00:00:00.000Z","heap":true}\n';
  const counted = await readProcessLog(
    write(
      'heap-counts.jsonl',
      `${header}{"type":"stop","t":"2026-11-24T00:00:02.000Z","elapsed":2,"reason":"target-exited","samples":15,"missed":0,"heap":${JSON.stringify(heap)}}\n`,
    ),
    { lenient: false },
  );
  t.deepEqual(counted.stop?.heap, heap);
  t.true(counted.header.heap);
  const tree = await readProcessLog(fixture('process/children-marks.jsonl'), { lenient: false });
  t.deepEqual(
    tree.marks.map((mark) => [mark.text, mark.source]),
    [
      ['halfway: 64 MiB held by the child', 'cli'],
      ['SIGUSR2', 'signal'],
    ],
  );
  t.true(tree.samples.some((sample) => sample.children?.length === 2 && sample.totalRss! > 64 * 1024 * 1024));
});

test('a cut log (sampler killed mid-write): an error naming the last line, or read leniently without a stop', async (t) => {
  const error = await t.throwsAsync(readProcessLog(fixture('process/cut.jsonl'), { lenient: false }), { instanceOf: ParseError });
  t.regex(error.message, /cut\.jsonl:8: not valid memtrace process log: expected one JSON object a line \(is the line cut short\?/);
  const series = await readProcessLog(fixture('process/cut.jsonl'), { lenient: true });
  t.is(series.badLines, 1);
  t.is(series.samples.length, 6);
  t.is(series.stop, null);
});

test('garbled, empty and foreign input: file, line and what was expected', async (t) => {
  await t.throwsAsync(readProcessLog(write('empty.jsonl', ''), { lenient: false }), {
    message: /empty\.jsonl:1: not valid process log: expected a header record; the file is empty/,
  });
  await t.throwsAsync(readProcessLog(write('blank.jsonl', '\n\n'), { lenient: true }), { message: /the file is empty/ });
  await t.throwsAsync(readProcessLog(write('other.txt', 'hello world\n'), { lenient: true }), {
    message:
      /other\.txt:1: not valid process log: expected a header record \{"type":"header","tool":"process",…\} or a pymemtrace log line: "hello world"/,
  });
  await t.throwsAsync(readProcessLog(fixture('process/cpymemtrace-trace.log'), { lenient: false }), {
    message:
      /cpymemtrace-trace\.log:1: .*this is a cPyMemTrace trace or profile log \(per-call RSS\): memtrace report reads it as --input-format cpymemtrace/,
  });
  const header =
    '{"type":"header","tool":"process","version":1,"source":"memtrace","target":{"pid":5},"interval":1,"host":"h","platform":"linux","start":"2026-11-24T00:00:00.000Z"}\n';
  const sample = (extra: string) => `{"type":"sample","t":"2026-11-24T00:00:01.000Z","elapsed":1,"pid":5,"rss":4096${extra}}\n`;
  const cases: Array<[string, RegExp]> = [
    [sample(',"heapUsed":-1'), /:2: .*expected "heapUsed" as a number of bytes/],
    [sample(',"rss":"lots"'), /:2: .*expected a sample with "pid" and "rss"/],
    ['{"type":"sample","elapsed":1,"pid":5,"rss":1}\n', /:2: .*expected a sample record with "t" \(ISO 8601\) and "elapsed"/],
    ['{"type":"bogus","t":"x","elapsed":1}\n', /:2: .*expected a record of type header, sample, mark or stop/],
    ['[1,2]\n', /:2: .*expected a JSON object/],
    [
      '{"type":"stop","t":"2026-11-24T00:00:02.000Z","elapsed":2,"reason":"target-exited","samples":0,"missed":0,"heap":{"samples":"all"}}\n',
      /:2: .*expected "heap" as \{"samples", "beforeFirst", "late": counts/,
    ],
    [header, /:2: .*expected one header record, at the top/],
  ];
  for (const [line, message] of cases) {
    await t.throwsAsync(readProcessLog(write('bad.jsonl', header + line), { lenient: false }), { instanceOf: ParseError, message }, line);
  }
  const lenient = await readProcessLog(write('mixed.jsonl', header + sample('') + 'garbage\n' + sample('')), { lenient: true });
  t.is(lenient.samples.length, 2);
  t.is(lenient.badLines, 1);
  await t.throwsAsync(readProcessLog(write('noheader.jsonl', '{"type":"header","tool":"process"}\n' + sample('')), { lenient: true }), {
    message: /:1: .*expected a header with tool "process", target.pid, interval and start/,
  });
  await t.throwsAsync(
    readProcessLog(
      write('py-bad.log', '2026-11-23 21:36:41,496 - p.py#1 - 1 - (M) - INFO - ProcessLoggingThread-JSON {"timestamp": "x"\n'),
      { lenient: false },
    ),
    { message: /py-bad\.log:1: not valid pymemtrace process log: expected a JSON object after ProcessLoggingThread-JSON/ },
  );
});

test('detection from the first line', (t) => {
  t.is(detectProcessLog('{"type":"header","tool":"process"}'), 'memtrace');
  t.is(detectProcessLog('{"type":"memtrace_header","data":{}}'), null);
  t.is(detectProcessLog('2026-11-23 21:36:41,476 - run_process.py#17 -  9007 - (MainThread) - INFO     - Demonstration'), 'pymemtrace');
  t.is(detectProcessLog('Attaching 12 probes...'), null);
  t.true(isCPyMemTraceLog('SOF'));
  t.false(isCPyMemTraceLog('{"type":"header"}'));
});
