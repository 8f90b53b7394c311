// `memtrace process -p PID --attach-inspector`: V8's heap figures of a Node program memtrace did not
// launch, through its inspector, which memtrace opens (SIGUSR1) for the trace and closes again.
// Every target is a real Node started here, and every one must outlive memtrace unharmed unless
// it ends on its own.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import test, { type ExecutionContext } from 'ava';
import { memtraceAuto, MEMTRACE, waitForLine } from '../helpers/cli.js';
import { heapFigures, readLogRecords } from '../helpers/process-log.js';
import { asUnprivileged } from '../helpers/fake-sudo.js';
import { catchesSigusr1, listeningSockets } from '../../src/node/inspector-port.js';
import { ROOT } from '../helpers/workloads.js';

const MIB = 1024 * 1024;
const BUSY_HEAP = `${ROOT}test/workloads/node/busy-heap.js`;
const directory = mkdtempSync(join(tmpdir(), 'memtrace-attach-test-'));
const logPath = (name: string) => join(directory, `${name}.jsonl`);
/** An idle Node program, alive for a minute unless killed. */
const IDLE = ['-e', 'setInterval(() => {}, 1000); setTimeout(() => process.exit(0), 60000)'];

/**
 * Starts `node ARGS` and resolves once Node has installed its SIGUSR1 handler (memtrace refuses a
 * Node that has not: the signal would end it). `--inspect-port=0`: the inspector that SIGUSR1 opens
 * takes a free port, so that nothing else on 9229 (another test, a developer's debugger) matters.
 */
async function startNode(t: ExecutionContext, args: string[]): Promise<{ target: ResultPromise<{ reject: false }> }> {
  const child = execa('node', ['--inspect-port=0', ...args], { reject: false });
  t.teardown(() => void child.kill('SIGKILL'));
  for (let waited = 0; !catchesSigusr1(child.pid!); waited += 10) {
    if (waited > 10_000) throw new Error('node did not install its SIGUSR1 handler within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // Wrapped: an execa child is a promise of its end, which an async function's return would await.
  return { target: child };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const OPENED =
  /memtrace: opened the inspector of PID (\d+) on 127\.0\.0\.1:(\d+) for this trace \(any local user can connect to it until memtrace closes it at the end\)/;

test.serial(
  'a busy Node program: heap figures in every sample, rising with what it keeps; the inspector is closed again and the program runs on to its end',
  async (t) => {
    // Two busy phases of 3 s with an idle second between: memtrace samples 2 s of the first.
    const { target } = await startNode(t, [BUSY_HEAP, '3000', '2', '1000']);
    const log = logPath('busy');
    const result = await memtraceAuto([
      'process',
      '-p',
      String(target.pid),
      '--attach-inspector',
      '--heap',
      '-i',
      '100ms',
      '-d',
      '2s',
      '-o',
      log,
    ]);
    t.is(result.exitCode, 0, result.stderr);
    const opened = OPENED.exec(result.stderr);
    t.truthy(opened, result.stderr);
    const port = Number(opened![2]);
    t.regex(result.stderr, new RegExp(`memtrace: closed the inspector of PID ${target.pid} again \\(127\\.0\\.0\\.1:${port}\\)`));
    t.false(
      listeningSockets(target.pid!).some((socket) => socket.port === port),
      'the port is closed while the program still works',
    );

    const { header, samples, stop } = readLogRecords(log);
    t.true(header.heap);
    const { withHeap, slope } = heapFigures(samples);
    t.is(withHeap.length, samples.length, 'every sample has heap figures: memtrace waited for the first answer before the first sample');
    t.true(samples.length >= 15, `${samples.length} samples in 2 s at 100 ms`);
    t.true(slope >= 0.7 * 16 * MIB && slope <= 1.5 * 16 * MIB, `heapUsed rose ${(slope / MIB).toFixed(1)} MiB/s; the loop keeps 16 MiB/s`);
    for (const sample of withHeap) {
      t.true(sample.heapUsed! <= sample.heapTotal! && sample.heapTotal! <= sample.rss, 'used ≤ total ≤ RSS');
      t.true(sample.external! > 0 && sample.arrayBuffers! >= 0, 'external and arrayBuffers come with each answer');
    }
    t.like(stop, { reason: 'duration', heap: { samples: samples.length, beforeFirst: 0, late: 0, via: 'inspector' } });

    // The program finishes its work as if memtrace had never been there, and its inspector stays
    // closed once its event loop has turned (the second start that SIGUSR1 queued lands then).
    const ended = await target;
    t.is(ended.exitCode, 0, ended.stderr);
    t.regex(ended.stdout, /phase 2: kept \d+ bytes/);
  },
);

test.serial(
  'a Node program that exits while attached exits at once (memtrace lets go when Node waits for it), and the trace ends with it',
  async (t) => {
    const { target } = await startNode(t, [BUSY_HEAP, '1500']);
    const log = logPath('exits');
    const started = performance.now();
    const result = await memtraceAuto(['process', '-p', String(target.pid), '--attach-inspector', '-i', '100ms', '-o', log]);
    const ended = await target;
    t.is(result.exitCode, 0, result.stderr);
    t.is(ended.exitCode, 0);
    t.true(
      performance.now() - started < 10_000,
      `took ${Math.round(performance.now() - started)} ms: the program did not wait for memtrace`,
    );
    const { samples, stop } = readLogRecords(log);
    t.like(stop, { reason: 'target-exited' });
    t.true(heapFigures(samples).share >= 0.9);
    t.notRegex(result.stderr, /still listens/);
  },
);

test('an inspector the program opened itself (--inspect) is used and left open', async (t) => {
  const target = execa('node', ['--inspect=127.0.0.1:0', ...IDLE], { reject: false });
  t.teardown(() => void target.kill('SIGKILL'));
  const line = await waitForLine(target.stderr!, /Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//);
  const port = Number(/:(\d+)\//.exec(line)![1]);
  const log = logPath('inspect');
  const result = await memtraceAuto([
    'process',
    '-p',
    String(target.pid),
    '--attach-inspector',
    '--heap',
    '-i',
    '100ms',
    '-d',
    '1s',
    '-o',
    log,
  ]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(
    result.stderr,
    new RegExp(`PID ${target.pid}'s inspector was already open on 127\\.0\\.0\\.1:${port}: memtrace asks it, and leaves it open`),
  );
  t.true(
    listeningSockets(target.pid!).some((socket) => socket.port === port),
    'still listening',
  );
  t.is(heapFigures(readLogRecords(log).samples).share, 1);
});

test('Ctrl-C: the log is complete, the inspector closed, the program alive; a Node target without the option gets a hint', async (t) => {
  const { target } = await startNode(t, IDLE);
  const log = logPath('sigint');
  const sampler = memtraceAuto(['process', '-p', String(target.pid), '--attach-inspector', '-i', '50ms', '--status', '100ms', '-o', log]);
  await waitForLine(sampler.stderr!, /samples [1-9]/);
  sampler.kill('SIGINT');
  const result = await sampler;
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stderr, /memtrace: closed the inspector of PID \d+ again/);
  const { samples, stop, records } = readLogRecords(log);
  t.is(records.at(-1)?.type, 'stop');
  t.like(stop, { reason: 'signal' });
  t.is(heapFigures(samples).share, 1);
  t.deepEqual(listeningSockets(target.pid!), []);
  t.true(alive(target.pid!));

  const plain = await memtraceAuto(['process', '-p', String(target.pid), '-d', '200ms', '-f', 'jsonl']);
  t.is(plain.exitCode, 0, plain.stderr);
  t.regex(plain.stderr, new RegExp(`memtrace: PID ${target.pid} runs Node.js: --attach-inspector adds V8's heap figures`));
  t.deepEqual(listeningSockets(target.pid!), [], 'without the option, the inspector is not opened');
});

test("refused, and the process unharmed: not Node, Node with --disable-sigusr1, another user's Node, a stopped Node; and the usage errors", async (t) => {
  const sleep = execa('sleep', ['60'], { reject: false });
  t.teardown(() => void sleep.kill('SIGKILL'));
  const notNode = await memtraceAuto(['process', '-p', String(sleep.pid), '--attach-inspector', '-d', '1s']);
  t.is(notNode.exitCode, 2);
  t.is(
    notNode.stderr.split('\n')[0],
    `memtrace: --attach-inspector opens a Node.js program's inspector, and PID ${sleep.pid} runs /usr/bin/sleep`,
  );

  // A program called node that has no SIGUSR1 handler, as a Node run with --disable-sigusr1 (Node
  // 22.14 and later) or one still starting: the signal would end it.
  const fakeNode = join(directory, 'node');
  copyFileSync('/usr/bin/sleep', fakeNode);
  const deaf = execa(fakeNode, ['60'], { reject: false });
  t.teardown(() => void deaf.kill('SIGKILL'));
  const noSignal = await memtraceAuto(['process', '-p', String(deaf.pid), '--attach-inspector', '-d', '1s']);
  t.is(noSignal.exitCode, 5);
  t.regex(
    noSignal.stderr,
    new RegExp(
      `PID ${deaf.pid} does not handle SIGUSR1 \\(a Node started with --disable-sigusr1 or still starting, or not Node at all\\): memtrace does not send it`,
    ),
  );

  if (process.getuid?.() === 0) {
    const [command, args] = asUnprivileged(process.execPath, [
      MEMTRACE,
      'process',
      '-p',
      String(deaf.pid),
      '--attach-inspector',
      '-d',
      '1s',
    ]);
    const other = await execa(command, args, { reject: false });
    t.is(other.exitCode, 5);
    t.regex(
      other.stderr,
      new RegExp(`memtrace: cannot read /proc/${deaf.pid} \\(EACCES\\): run memtrace as the process's user or as root`),
    );
  }
  // A stopped Node would open its port only when resumed, with memtrace long gone: refused, and not
  // signalled (resumed, it opens no port).
  const { target: stopped } = await startNode(t, IDLE);
  process.kill(stopped.pid!, 'SIGSTOP');
  const stoppedResult = await memtraceAuto(['process', '-p', String(stopped.pid), '--attach-inspector', '-d', '1s']);
  process.kill(stopped.pid!, 'SIGCONT');
  t.is(stoppedResult.exitCode, 5);
  t.is(
    stoppedResult.stderr.trim(),
    `memtrace: PID ${stopped.pid} is stopped (by a signal): it cannot open its inspector; resume it first (kill -CONT ${stopped.pid})`,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(listeningSockets(stopped.pid!), []);

  t.true(alive(sleep.pid!) && alive(deaf.pid!), 'neither was sent a signal');

  const heapWithout = await memtraceAuto(['process', '-p', String(sleep.pid), '--heap']);
  t.is(heapWithout.exitCode, 2);
  t.regex(heapWithout.stderr, /--heap on -p PID needs --attach-inspector/);
  const launched = await memtraceAuto(['process', '--attach-inspector', '--', 'node', '-e', '0']);
  t.is(launched.exitCode, 2);
  t.regex(launched.stderr, /--attach-inspector is for -p PID/);
  const both = await memtraceAuto(['process', '-p', String(sleep.pid), '--attach-inspector', '--no-heap']);
  t.is(both.exitCode, 2);
  const gone = await memtraceAuto(['process', '-p', '4194300', '--attach-inspector']);
  t.is(gone.exitCode, 5);
  t.is(gone.stderr.trim(), 'memtrace: no process with PID 4194300');
});
