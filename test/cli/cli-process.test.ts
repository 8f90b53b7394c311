// memtrace process on real processes: a C workload whose RSS grows by exactly 64 MiB and shrinks
// back, Node workloads (heap figures through the preload, also while the program keeps its event
// loop busy), tsc compiling this project, attached processes with marks and children, and every
// failure path.
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import test from 'ava';
import { gated, ROOT_PROBLEM } from '../helpers/gate.js';
import { memtraceAuto, waitForLine } from '../helpers/cli.js';
import { heapFigures, readLogRecords, sampleNear, type LogRecords } from '../helpers/process-log.js';
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
  const result = await memtraceAuto([
    'process',
    '-i',
    '100ms',
    '-o',
    log,
    '--',
    'node',
    '--expose-gc',
    `${ROOT}test/workloads/node/rss-steps.js`,
    '1500',
    '1000',
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /holding 67108864 bytes\nreleased\ndone/);
  const { samples, stop } = readLogRecords(log);
  // Node reports from its preload once it has started, before the program's first line; from then
  // on, every sample. How long Node takes to start is the machine's: a CI leg whose neighbours traced
  // every malloc on the machine (bpftrace 0.17's shared uprobes) took 3.4 s, so the bound is the
  // program's own timeline: figures before the 64 MiB, which come after a 1 s sleep.
  const first = samples.findIndex((sample) => typeof sample.heapUsed === 'number');
  const rise = samples.findIndex((sample) => sample.rss - samples[0]!.rss >= 64 * MIB);
  t.true(
    first !== -1 && rise !== -1 && first < rise,
    `first heap figures at ${samples[first]?.elapsed} s, the 64 MiB at ${samples[rise]?.elapsed} s`,
  );
  const withHeap = samples.slice(first);
  t.true(
    withHeap.every((sample) => typeof sample.heapUsed === 'number'),
    'every sample after the first has heap figures',
  );
  for (const sample of withHeap) {
    t.true(sample.heapTotal! >= sample.heapUsed! && sample.heapUsed! > 0 && (sample.arrayBuffers ?? 0) >= 0);
  }
  const before = sampleNear(samples, 0.8).rss;
  const peak = Math.max(...samples.map((sample) => sample.rss));
  const after = samples.at(-1)!.rss;
  t.true(peak - before >= 64 * MIB && peak - before < 64 * MIB + 8 * MIB, `rise ${(peak - before) / MIB} MiB`);
  t.true(after < before + 8 * MIB, `after release ${(after - before) / MIB} MiB above before`);
  t.true(Math.max(...withHeap.map((sample) => sample.external!)) >= 64 * MIB, 'the Buffer shows in external');
  t.is(stop?.reason, 'target-exited');
});

/**
 * The samples with heap figures, their share of all samples, and the least-squares slope of
 * heapUsed over time (bytes a second): the trend of what the program keeps, through the saw-tooth of
 * its young generation's garbage (the busy loop's own temporaries, collected every few samples).
 */
/** Resolves with the log's header once the sampler has written it. */
async function headerOf(log: string): Promise<LogRecords['header']> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    if (existsSync(log) && readFileSync(log, 'utf8').includes('\n')) return readLogRecords(log).header;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no header in ${log} after 30 s`);
}

// The busy programs and tsc take a core each for seconds: serial (ava runs them first, one at a
// time), so that they neither starve the other tests' samplers nor are starved by them.
const BUSY_HEAP = `${ROOT}test/workloads/node/busy-heap.js`;
/** What busy-heap.js keeps a second of its busy phases. */
const BUSY_BYTES_PER_SECOND = 16 * MIB;

test.serial(
  'a Node program busy in one synchronous loop for 5 s: heap figures in 90% of the samples, rising with what it keeps; a mark lands meanwhile',
  async (t) => {
    const log = logPath('busy');
    const sampler = memtraceAuto(['process', '-i', '100ms', '--heap', '-o', log, '--', 'node', BUSY_HEAP, '5000']);
    // The program is busy from its first line: the mark lands in the middle of its loop.
    const { target } = await headerOf(log);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const marked = await memtraceAuto(['mark', String(target.pid), 'in the loop']);
    t.is(marked.exitCode, 0, marked.stderr);
    const result = await sampler;
    t.is(result.exitCode, 0, result.stderr);
    t.regex(result.stdout, /phase 1: kept \d+ bytes/);
    const { samples, marks, stop } = readLogRecords(log);
    const { withHeap, share, slope } = heapFigures(samples);
    t.true(share >= 0.9, `${withHeap.length} of ${samples.length} samples have heap figures`);
    // Everything is kept: heapUsed rises at the rate the loop keeps, and by what it kept.
    t.true(
      slope >= 0.7 * BUSY_BYTES_PER_SECOND && slope <= 1.5 * BUSY_BYTES_PER_SECOND,
      `heapUsed rose ${(slope / MIB).toFixed(1)} MiB/s; the loop keeps 16 MiB/s`,
    );
    const first = withHeap[0]!;
    const last = withHeap.at(-1)!;
    const expected = (last.elapsed - first.elapsed) * BUSY_BYTES_PER_SECOND;
    const rise = last.heapUsed! - first.heapUsed!;
    t.true(
      rise >= 0.7 * expected && rise <= 1.5 * expected,
      `heapUsed rose ${(rise / MIB).toFixed(1)} MiB over ${(last.elapsed - first.elapsed).toFixed(2)} s; kept ${(expected / MIB).toFixed(1)} MiB`,
    );
    t.deepEqual(
      marks.map((mark) => [mark.text, mark.source]),
      [['in the loop', 'cli']],
    );
    const afterMark = samples.find((sample) => sample.elapsed >= marks[0]!.elapsed)!;
    t.is(typeof afterMark.heapUsed, 'number', 'the sample taken with the mark has heap figures');
    t.like(stop?.heap, { via: 'inspector', samples: withHeap.length });
    t.is(stop!.heap!.samples + stop!.heap!.beforeFirst + stop!.heap!.late, samples.length, 'every sample is counted once');
  },
);

test.serial(
  'a Node program that alternates busy and idle phases: heap figures in 90% of the samples and in each busy phase, rising by what it keeps',
  async (t) => {
    const log = logPath('busy-idle');
    const result = await memtraceAuto(['process', '-i', '100ms', '--heap', '-o', log, '--', 'node', BUSY_HEAP, '1000', '4', '500']);
    t.is(result.exitCode, 0, result.stderr);
    t.regex(result.stdout, /phase 4: kept/);
    const { samples, stop } = readLogRecords(log);
    const { withHeap, share } = heapFigures(samples);
    t.true(share >= 0.9, `${withHeap.length} of ${samples.length} samples have heap figures`);
    // Each busy phase keeps 16 MiB; idle phases keep nothing. Compared at the ends, past the garbage.
    const rise = withHeap.at(-1)!.heapUsed! - withHeap[0]!.heapUsed!;
    t.true(
      rise >= 0.7 * 4 * BUSY_BYTES_PER_SECOND && rise <= 1.5 * 4 * BUSY_BYTES_PER_SECOND,
      `heapUsed rose ${(rise / MIB).toFixed(1)} MiB; the four phases kept 64 MiB`,
    );
    for (let phase = 1; phase <= 4; phase++) {
      // The middle of busy phase N (the program starts its first about when the first heap figures come).
      const middle = withHeap[0]!.elapsed + (phase - 1) * 1.5 + 0.5;
      const during = withHeap.filter((sample) => Math.abs(sample.elapsed - middle) <= 0.45);
      t.true(during.length >= 6, `phase ${phase}: ${during.length} samples with heap figures in its busy second`);
    }
    // While idle, the main thread's timer reports too: external and arrayBuffers are there.
    t.true(withHeap.some((sample) => typeof sample.external === 'number'));
    t.like(stop?.heap, { via: 'inspector' });
  },
);

test.serial('tsc compiling this project: heap figures in 90% of the samples, plausible against heap-stats on the same run', async (t) => {
  const log = logPath('tsc');
  const stats = mkdtempSync(join(tmpdir(), 'memtrace-process-tsc-'));
  // heap-stats's preload rides along: V8's figures at the start and, after a full GC, at the end.
  // On the command line, it loads after memtrace's (from NODE_OPTIONS), so its start-up GCs are sampled.
  const tsc = [
    'node',
    '--require',
    `${ROOT}dist/node/preload/heap-stats.cjs`,
    `${ROOT}node_modules/typescript/lib/tsc.js`,
    '-p',
    `${ROOT}tsconfig.json`,
    '--noEmit',
  ];
  const result = await memtraceAuto(['process', '-i', '100ms', '--heap', '-o', log, '--', ...tsc], {
    env: { MEMTRACE_HEAP_STATS_DIR: stats },
    cwd: ROOT,
  });
  t.is(result.exitCode, 0, result.stderr);
  const { header, samples, stop } = readLogRecords(log);
  const { withHeap, share } = heapFigures(samples);
  t.true(samples.length >= 20, `${samples.length} samples: tsc ran for ${stop?.elapsed} s`);
  t.true(share >= 0.9, `${withHeap.length} of ${samples.length} samples have heap figures`);
  const heapStats = JSON.parse(readFileSync(join(stats, `heap-stats-${header.target.pid}.json`), 'utf8')) as {
    before: Record<string, number>;
    after: Record<string, number>;
  };
  const peakUsed = Math.max(...withHeap.map((sample) => sample.heapUsed!));
  const peakTotal = Math.max(...withHeap.map((sample) => sample.heapTotal!));
  const after = { used: heapStats.after['process.heapUsed']!, total: heapStats.after['process.heapTotal']! };
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
  // What survives the full GC at the end was all in the heap while tsc ran: the peaks hold it.
  t.true(peakUsed >= 0.9 * after.used, `peak heapUsed ${mib(peakUsed)}, after the final GC ${mib(after.used)}`);
  t.true(peakTotal >= 0.9 * after.total, `peak heapTotal ${mib(peakTotal)}, after the final GC ${mib(after.total)}`);
  t.true(peakUsed <= peakTotal && peakTotal <= Math.max(...samples.map((sample) => sample.rss)), 'used within total, total within RSS');
  t.true(
    peakUsed >= 2 * withHeap[0]!.heapUsed!,
    `tsc's heap grows as it works: ${mib(withHeap[0]!.heapUsed!)} at first, ${mib(peakUsed)} at the peak`,
  );
  t.like(stop?.heap, { via: 'inspector' });
});

test('--heap keeps its word: a Node program that never reports (a wrapper empties NODE_OPTIONS) fails at the end and says why; without --heap, the log, the table and stderr say so', async (t) => {
  // A script whose #! line names node (so memtrace takes it for Node) but runs it without NODE_OPTIONS.
  const script = join(directory, 'no-node-options');
  writeFileSync(script, '#!/usr/bin/env -S NODE_OPTIONS= node\nsetTimeout(() => {}, 600);\n', { mode: 0o755 });
  const log = logPath('no-preload');
  const required = await memtraceAuto(['process', '-i', '100ms', '--heap', '-o', log, '--', script]);
  t.is(required.exitCode, 5, required.stderr);
  t.regex(required.stderr, /memtrace: heap figures in 0 of \d+ samples: the program never reported: it did not load memtrace's preload/);
  t.regex(required.stderr, /memtrace: --heap: no sample has heap figures: the program never reported/);
  t.like(readLogRecords(log).header, { heap: true });
  t.like(readLogRecords(log).stop?.heap, { samples: 0, late: 0, via: 'none' });
  const table = join(directory, 'no-preload.txt');
  const auto = await memtraceAuto(['process', '-i', '100ms', '-o', logPath('no-preload-auto'), '-o', table, '--', script]);
  t.is(auto.exitCode, 0, auto.stderr);
  t.regex(auto.stderr, /memtrace: heap figures in 0 of \d+ samples: the program never reported/);
  t.regex(readFileSync(table, 'utf8'), /\nheap figures in 0 of \d+ samples: the program never reported/);
  t.like(readLogRecords(logPath('no-preload-auto')).stop?.heap, { samples: 0, via: 'none' });
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
  for (let waited = 0; waited < 5000 && !readFileSync(log, 'utf8').includes('"SIGUSR2"'); waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await tree;
  const result = await sampler;
  t.is(result.exitCode, 0, result.stderr);
  const { header, samples, marks, stop } = readLogRecords(log);
  t.deepEqual(header.target, { pid: tree.pid });
  t.deepEqual(
    marks.map((mark) => [mark.text, mark.source]),
    [
      ['loaded 1M rows', 'cli'],
      ['SIGUSR2', 'signal'],
    ],
  );
  const full = samples.filter((sample) => sample.children?.length === 2);
  t.true(full.length > 10, `${full.length} samples saw both children`);
  for (const sample of full) {
    t.deepEqual(
      sample.children!.map((child) => [child.ppid, child.name]),
      [
        [tree.pid, 'sleep'],
        [tree.pid, 'sleep'],
      ],
    );
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
  for (const option of ['--interval', '--children', '--prometheus', '--heap', 'memtrace mark PID TEXT'])
    t.true(help.stdout.includes(option), option);
  const mark = await memtraceAuto(['mark', '4194300', 'x']);
  t.is(mark.exitCode, 5);
  t.regex(mark.stderr, /no memtrace process is sampling PID 4194300/);
  const usage = await memtraceAuto(['mark', '12']);
  t.is(usage.exitCode, 2);
  t.true(readFileSync(`${ROOT}docs/tools/process.md`, 'utf8').length > 0);
});

gated(ROOT_PROBLEM, { base: test })("needs no root: an unprivileged user samples a command and another user's process", async (t) => {
  const other = execa('sleep', ['10']);
  try {
    const asNobody = [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      process.execPath,
      `${ROOT}bin/memtrace.js`,
      'process',
      '-i',
      '50ms',
      '-d',
      '300ms',
      '-f',
      'jsonl',
    ];
    for (const target of [
      ['--', 'sleep', '1'],
      ['-p', String(other.pid)],
    ]) {
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
