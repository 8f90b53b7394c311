import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { ProcessSampler } from '../../src/node/process-sampler.js';
import { readLogRecords } from '../helpers/process-log.js';
import { ROOT } from '../helpers/workloads.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-sampler-test-'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial('sampling this process: heap figures, a mark with its own sample, the log equal to the series', async (t) => {
  const output = join(directory, 'self.jsonl');
  const sampler = new ProcessSampler({ interval: 0.02, output }).start();
  await sleep(100);
  const held = Array.from({ length: 500_000 }, (_, index) => ({ index, half: index / 2 }));
  sampler.mark('made 500k objects');
  await sleep(100);
  const series = await sampler.stop();
  t.true(held.length > 0);
  t.like(series.header, { tool: 'process', source: 'memtrace-api', interval: 0.02, target: { pid: process.pid } });
  t.true(series.samples.length >= 6, `${series.samples.length} samples`);
  t.true(series.samples.every((sample) => sample.heapUsed! > 0 && sample.rss > 0 && sample.vsz! > sample.rss));
  t.deepEqual(
    series.marks.map((mark) => [mark.text, mark.source]),
    [['made 500k objects', 'api']],
  );
  const markAt = series.marks[0]!.elapsed;
  const atMark = series.samples.find((sample) => sample.elapsed >= markAt)!;
  t.true(atMark.elapsed - markAt < 0.005, 'a sample is taken with the mark');
  const beforeMark = series.samples[series.samples.indexOf(atMark) - 1]!;
  // 500,000 objects of at least 16 B each (more with headers): at least 8 MB more than just before.
  t.true(atMark.heapUsed! - beforeMark.heapUsed! > 500_000 * 16, `heapUsed ${beforeMark.heapUsed} → ${atMark.heapUsed}`);
  t.like(series.stop, { reason: 'stopped', samples: series.samples.length });
  const log = readLogRecords(output);
  t.deepEqual(
    log.samples.map(({ type: _type, ...sample }) => sample),
    series.samples,
  );
  t.is(log.records.at(-1)?.type, 'stop');
});

test.serial('a program that exits without stop() still ends its log with a stop record', async (t) => {
  const output = join(directory, 'exit.jsonl');
  const program = `
    const { ProcessSampler } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
    const sampler = new ProcessSampler({ interval: 0.01, output: ${JSON.stringify(output)} }).start();
    setTimeout(() => { sampler.mark('about to exit'); process.exit(4); }, 100);`;
  const result = await execa(process.execPath, ['--input-type=module', '-e', program], { reject: false });
  t.is(result.exitCode, 4, result.stderr);
  const log = readLogRecords(output);
  t.deepEqual(
    log.marks.map((mark) => mark.text),
    ['about to exit'],
  );
  t.like(log.stop, { reason: 'target-exited' });
  t.is(log.records.at(-1)?.type, 'stop');
});

test.serial('the sampler does not keep a program alive', async (t) => {
  const program = `
    const { ProcessSampler } = await import(${JSON.stringify(`${ROOT}dist/index.js`)});
    new ProcessSampler({ interval: 0.01 }).start();`;
  const started = Date.now();
  const result = await execa(process.execPath, ['--input-type=module', '-e', program], { reject: false, timeout: 10_000 });
  t.is(result.exitCode, 0, result.stderr);
  t.true(Date.now() - started < 5000);
});

test.serial('another process: no heap figures; gone settles when it exits', async (t) => {
  const child = spawn('sleep', ['0.3']);
  await new Promise((resolve) => child.once('spawn', resolve));
  const sampler = new ProcessSampler({ interval: 0.02, pid: child.pid! }).start();
  // The sampler's timer never keeps a program alive: this test's own timer does, while it waits.
  const keepAlive = setInterval(() => {}, 1000);
  await sampler.gone;
  clearInterval(keepAlive);
  const series = await sampler.stop('target-exited');
  t.true(series.samples.length >= 5);
  t.true(series.samples.every((sample) => sample.heapUsed === undefined));
  t.is(series.stop?.reason, 'target-exited');
});

test('bad options and misuse are usage errors', (t) => {
  t.throws(() => new ProcessSampler({ interval: 0 }), { instanceOf: UsageError, message: /interval is in seconds/ });
  t.throws(() => new ProcessSampler({ interval: Number.NaN }), { instanceOf: UsageError });
  t.throws(() => new ProcessSampler({ pid: 1, heap: true }), { message: /heap figures can only be taken of this process/ });
  t.throws(() => new ProcessSampler({ pid: -3 }), { instanceOf: UsageError });
  t.throws(() => new ProcessSampler({ pid: 4_194_305 }));
  const sampler = new ProcessSampler({ interval: 1 });
  t.throws(() => sampler.mark('x'), { message: /mark\(\) between start\(\) and stop\(\)/ });
});

test('the package entry exports the three in-process tools', async (t) => {
  const entry = (await import(`${ROOT}dist/index.js`)) as Record<string, unknown>;
  for (const name of ['ProcessSampler', 'traceMalloc', 'heapStats']) t.is(typeof entry[name], 'function', name);
});
