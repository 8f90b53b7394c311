// memtrace process on real processes: a C workload whose RSS grows by exactly 64 MiB and shrinks
// back, a Node workload (heap figures through the preload), attached processes with marks and
// children, and every failure path.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import test from 'ava';
import { memtraceAuto, waitForLine } from '../helpers/cli.js';
import { readLogRecords, sampleNear } from '../helpers/process-log.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';

const MIB = 1024 * 1024;
const directory = mkdtempSync(join(tmpdir(), 'memtrace-process-test-'));
const logPath = (name: string) => join(directory, `${name}.jsonl`);

test('a launched C program: RSS rises by exactly the 64 MiB it touches and falls back, to the page', async (t) => {
  const log = logPath('c');
  const result = await memtraceAuto(['process', '-i', '50ms', '-o', log, '--', buildWorkload('rss-steps'), '1000', '600']);
  t.is(result.exitCode, 0, result.stderr);
  const { header, samples, stop } = readLogRecords(log);
  t.like(header, { type: 'header', tool: 'process', version: 1, source: 'memtrace', interval: 0.05, platform: 'linux', children: false });
  t.is(header.target.command?.[1], '1000');
  t.regex(header.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const page = header.pageSize!;
  for (const sample of samples) {
    t.is(sample.pid, header.target.pid);
    t.regex(sample.t, /^\d{4}-\d\d-\d\dT/);
    t.is(sample.rss % page, 0);
  }
  // Before: 0.3 s in (after the loader, before the mmap at 0.6 s); peak: the 1 s hold; after: the last 0.6 s.
  const before = sampleNear(samples, 0.3).rss;
  const peak = Math.max(...samples.map((sample) => sample.rss));
  const after = sampleNear(samples, stop!.elapsed - 0.2).rss;
  const tolerance = 2 * page; // a stack page or a libc page faulted in by sleep or exit
  t.true(Math.abs(peak - before - 64 * MIB) <= tolerance, `rise ${peak - before} B, expected ${64 * MIB} ± ${tolerance}`);
  t.true(Math.abs(after - before) <= tolerance, `after ${after} B, before ${before} B`);
  t.like(stop, { reason: 'target-exited', exitCode: 0, samples: samples.length });
  t.regex(result.stderr, /memtrace: sampled PID \d+ for [\d.]+ s: \d+ samples, \d+ missed, 0 marks; the process exited/);
});

test('a launched Node program: heap figures with every sample, the 64 MiB Buffer seen in RSS and external', async (t) => {
  const log = logPath('node');
  const result = await memtraceAuto(['process', '-i', '100ms', '-o', log, '--', 'node', '--expose-gc', `${ROOT}test/workloads/node/rss-steps.js`, '1500', '1000']);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /holding 67108864 bytes\nreleased\ndone/);
  const { samples, stop } = readLogRecords(log);
  // Node reports from its preload once it has started (a few hundred ms); from then on, every sample.
  const first = samples.findIndex((sample) => typeof sample.heapUsed === 'number');
  t.true(first !== -1 && samples[first]!.elapsed < 1, `first heap figures at ${samples[first]?.elapsed} s`);
  const withHeap = samples.slice(first);
  t.true(withHeap.every((sample) => typeof sample.heapUsed === 'number'), 'every sample after the first has heap figures');
  for (const sample of withHeap) {
    t.true(sample.heapTotal! >= sample.heapUsed! && sample.heapUsed! > 0 && sample.arrayBuffers! >= 0);
  }
  const before = sampleNear(samples, 0.8).rss;
  const peak = Math.max(...samples.map((sample) => sample.rss));
  const after = samples.at(-1)!.rss;
  t.true(peak - before >= 64 * MIB && peak - before < 64 * MIB + 8 * MIB, `rise ${(peak - before) / MIB} MiB`);
  t.true(after < before + 8 * MIB, `after release ${(after - before) / MIB} MiB above before`);
  t.true(Math.max(...withHeap.map((sample) => sample.external!)) >= 64 * MIB, 'the Buffer shows in external');
  t.is(stop?.reason, 'target-exited');
});

test('attached: marks from memtrace mark and SIGUSR2, the process tree with --children, stops when the target exits', async (t) => {
  // The tree lives long enough for the marks to land on a loaded machine (both start memtrace).
  const tree = execa('sh', ['-c', 'sleep 6 & sleep 6 & wait']);
  const log = logPath('attach');
  const sampler = memtraceAuto(['process', '-p', String(tree.pid), '-i', '50ms', '--children', '-o', log, '--status', '200ms']);
  await waitForLine(sampler.stderr!, /\[memtrace process\]/);
  const marked = await memtraceAuto(['mark', String(tree.pid), 'loaded 1M rows']);
  t.is(marked.exitCode, 0, marked.stderr);
  t.regex(marked.stderr, new RegExp(`memtrace: marked PID ${tree.pid} at \\d+`));
  sampler.kill('SIGUSR2');
  for (let waited = 0; waited < 5000 && !readFileSync(log, 'utf8').includes('"SIGUSR2"'); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  await tree;
  const result = await sampler;
  t.is(result.exitCode, 0, result.stderr);
  const { header, samples, marks, stop } = readLogRecords(log);
  t.deepEqual(header.target, { pid: tree.pid });
  t.deepEqual(marks.map((mark) => [mark.text, mark.source]), [['loaded 1M rows', 'cli'], ['SIGUSR2', 'signal']]);
  const full = samples.filter((sample) => sample.children?.length === 2);
  t.true(full.length > 10, `${full.length} samples saw both children`);
  for (const sample of full) {
    t.deepEqual(sample.children!.map((child) => [child.ppid, child.name]), [[tree.pid, 'sleep'], [tree.pid, 'sleep']]);
    t.is(sample.totalRss, sample.rss + sample.children![0]!.rss + sample.children![1]!.rss);
  }
  // A tick comes due every 50 ms; on a loaded machine the event loop can be later than that, and
  // the sampler counts the tick as missed (seen once in a full run beside other jobs): counted, not
  // lost, and few.
  t.like(stop, { reason: 'target-exited', samples: samples.length });
  t.true(stop!.missed <= Math.ceil(samples.length / 20), `${stop!.missed} ticks missed of ${samples.length + stop!.missed}`);
  t.true(stop!.elapsed < 8, `stopped ${stop!.elapsed} s in: when the target exited`);
  t.false(existsSync(`/tmp/memtrace-${process.getuid!()}/process-${tree.pid}.sock`), 'the mark socket is removed');
});

test('Ctrl-C: the log is complete and ends with a stop record; the command gets the signal', async (t) => {
  const log = logPath('sigint');
  const sampler = memtraceAuto(['process', '-i', '50ms', '-o', log, '--status', '100ms', '--', 'sleep', '30']);
  await waitForLine(sampler.stderr!, /samples [1-9]/);
  sampler.kill('SIGINT');
  const result = await sampler;
  t.is(result.exitCode, 130, 'sleep died of SIGINT: 128 + 2');
  const { samples, stop, records } = readLogRecords(log);
  t.is(records.at(-1)?.type, 'stop');
  t.like(stop, { reason: 'signal', samples: samples.length });
  t.true(samples.length >= 2);
});

test('--duration: stops sampling; a table on stdout by default; the exit code of a command that exits is passed on', async (t) => {
  const result = await memtraceAuto(['process', '-i', '50ms', '-d', '300ms', '--', 'sleep', '1']);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stderr, /duration reached/);
  t.regex(result.stdout, /^memtrace process: PID \d+ \(sleep 1\) on /);
  t.regex(result.stdout, /samples every 50 ms over .*; the duration was reached/);
  const exit3 = await memtraceAuto(['process', '-i', '50ms', '-o', logPath('exit3'), '--', 'sh', '-c', 'sleep 0.2; exit 3']);
  t.is(exit3.exitCode, 3);
  t.like(readLogRecords(logPath('exit3')).stop, { reason: 'target-exited', exitCode: 3 });
});

test('bad input: no such PID, no such command, unwritable log, --heap on a non-Node command, both -p and --', async (t) => {
  const noPid = await memtraceAuto(['process', '-p', '4194300']);
  t.is(noPid.exitCode, 5);
  t.is(noPid.stderr.trim(), 'memtrace: no process with PID 4194300');
  const noCommand = await memtraceAuto(['process', '--', 'memtrace-no-such-command']);
  t.is(noCommand.exitCode, 127);
  t.regex(noCommand.stderr, /cannot run memtrace-no-such-command: command not found in PATH/);
  const marker = join(directory, 'should-not-exist');
  const unwritable = await memtraceAuto(['process', '-o', '/no/such/dir/mem.jsonl', '--', 'touch', marker]);
  t.is(unwritable.exitCode, 2);
  t.regex(unwritable.stderr, /cannot write \/no\/such\/dir\/mem.jsonl: directory \/no\/such\/dir does not exist/);
  t.false(existsSync(marker), 'the command was not run');
  const heap = await memtraceAuto(['process', '--heap', '--', 'touch', marker]);
  t.is(heap.exitCode, 2);
  t.regex(heap.stderr, /--heap needs a Node.js program, and touch is not one/);
  t.false(existsSync(marker));
  const both = await memtraceAuto(['process', '-p', '1', '--', 'true']);
  t.is(both.exitCode, 2);
  const interval = await memtraceAuto(['process', '-i', '1ms', '-p', '1']);
  t.regex(interval.stderr, /--interval: expected from 10ms to 1h, got 1ms/);
  const extension = await memtraceAuto(['process', '-o', join(directory, 'mem.xyz'), '-p', '1']);
  t.is(extension.exitCode, 2);
});

test('--prometheus on a port in use fails before the command runs', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as { port: number };
  const marker = join(directory, 'prometheus-marker');
  try {
    const result = await memtraceAuto(['process', '--prometheus', `127.0.0.1:${port}`, '--', 'touch', marker]);
    t.is(result.exitCode, 2);
    t.is(result.stderr.split('\n')[0], `memtrace: --prometheus 127.0.0.1:${port}: the address is already in use`);
    t.false(existsSync(marker));
  } finally {
    holder.close();
  }
});

test('help lists the options; mark without a sampler says so', async (t) => {
  const help = await memtraceAuto(['process', '--help']);
  t.is(help.exitCode, 0);
  for (const option of ['--interval', '--children', '--prometheus', '--heap', 'memtrace mark PID TEXT']) t.true(help.stdout.includes(option), option);
  const mark = await memtraceAuto(['mark', '4194300', 'x']);
  t.is(mark.exitCode, 5);
  t.regex(mark.stderr, /no memtrace process is sampling PID 4194300/);
  const usage = await memtraceAuto(['mark', '12']);
  t.is(usage.exitCode, 2);
  t.true(readFileSync(`${ROOT}docs/tools/process.md`, 'utf8').length > 0);
});

(process.getuid?.() === 0 ? test : test.skip)('needs no root: an unprivileged user samples a command and another user\'s process', async (t) => {
  const other = execa('sleep', ['10']);
  try {
    const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, `${ROOT}bin/memtrace.js`, 'process', '-i', '50ms', '-d', '300ms', '-f', 'jsonl'];
    for (const target of [['--', 'sleep', '1'], ['-p', String(other.pid)]]) {
      const result = await execa('setpriv', [...asNobody, ...target], { reject: false });
      t.is(result.exitCode, 0, result.stderr);
      const stop = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { type: string; reason: string; samples: number };
      t.like(stop, { type: 'stop', reason: 'duration' });
      t.true(stop.samples >= 4);
    }
  } finally {
    other.kill();
    await other.catch(() => {});
  }
});
