// memtrace-bpf gc on a real, stock node (this machine's /usr/bin/node 20): every collection of a
// workload that forces a known number, checked against what V8's own --trace-gc prints on the same
// run; attached by PID and launched; the target exiting, Ctrl-C, --duration; and bad targets.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import type { GcLog } from '../../src/model/gc-log.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';
import { checkInterruptedLog, FORCED, GC_WORKLOAD, startWaitingNode } from '../helpers/gc-target.js';

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

/** V8's --trace-gc lines, one per collection, by the kind memtrace names (`[pid:isolate] N ms: Mark-Compact …`). */
function traceGcKinds(output: string): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const match = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: (Scavenge|Mark-Compact|Minor Mark-Compact|Minor Mark-Sweep)\b/.exec(line);
    if (!match) continue;
    const kind = {
      Scavenge: 'scavenge',
      'Mark-Compact': 'mark-compact',
      'Minor Mark-Compact': 'minor-mark-compact',
      'Minor Mark-Sweep': 'minor-mark-compact',
    }[match[1]!]!;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

function kindsOf(log: GcLog): Record<string, number> {
  return Object.fromEntries(log.summary.map((row) => [row.kind, row.count]));
}

liveTest(`launched: ${FORCED} forced mark-compacts, and exactly the collections --trace-gc prints`, async (t) => {
  const output = temporary('gc.json');
  const result = await memtrace([
    'gc',
    '--quiet',
    '-o',
    output,
    '-o',
    temporary('gc.svg'),
    '--',
    'node',
    '--expose-gc',
    '--trace-gc',
    GC_WORKLOAD,
    String(FORCED),
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as GcLog;
  const traceGc = traceGcKinds(`${result.stdout}`);
  t.regex(`${result.stdout}`, new RegExp(`^done ${FORCED}$`, 'm'));
  t.deepEqual(kindsOf(log), traceGc, `${result.stdout}`);
  t.is(log.collections.filter((c) => c.kind === 'mark-compact' && c.reason === 'testing').length, FORCED);
  t.is(log.partialReason, null);
  t.is(log.lostEvents, 0);
  t.is(log.header.probe?.kind, 'symbol');
  t.true(log.collections.every((c) => c.pauseMs > 0 && c.rssAfterBytes > 10 * 2 ** 20));
});

liveTest(`a worker thread's isolate: its ${FORCED} collections on its own thread, beside the main thread's ${FORCED}`, async (t) => {
  const output = temporary('gc.json');
  const result = await memtrace([
    'gc',
    '--quiet',
    '-o',
    output,
    '--',
    'node',
    '--expose-gc',
    '--trace-gc',
    GC_WORKLOAD,
    String(FORCED),
    '--worker',
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as GcLog;
  t.deepEqual(kindsOf(log), traceGcKinds(`${result.stdout}`), `${result.stdout}`);
  const byThread = new Map<number, number>();
  for (const c of log.collections.filter((c) => c.reason === 'testing')) byThread.set(c.tid, (byThread.get(c.tid) ?? 0) + 1);
  t.deepEqual([...byThread.values()], [FORCED, FORCED]);
  t.true(byThread.has(log.header.target.pid!));
});

liveTest('node --minor-mc: collector 2 is the minor mark-compact, as --trace-gc names it', async (t) => {
  const output = temporary('gc.json');
  const result = await memtrace([
    'gc',
    '--quiet',
    '-o',
    output,
    '--',
    'node',
    '--minor-mc',
    '--trace-gc',
    `${ROOT}test/workloads/node/alloc-loop.js`,
    '3000000',
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as GcLog;
  const traceGc = traceGcKinds(`${result.stdout}`);
  t.true((traceGc['minor-mark-compact'] ?? 0) > 10, `${result.stdout}`);
  t.deepEqual(kindsOf(log), traceGc);
});

liveTest('--raw-out keeps the trace; memtrace report renders it as the live report was', async (t) => {
  const live = temporary('gc.json');
  const rawOut = temporary('gc.raw');
  const result = await memtrace(['gc', '--quiet', '--raw-out', rawOut, '-o', live, '--', 'node', '--expose-gc', GC_WORKLOAD, '5']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const again = await memtraceAuto(['report', rawOut, '-f', 'json']);
  t.is(again.exitCode, 0, `${again.stderr}`);
  t.deepEqual(JSON.parse(`${again.stdout}`), JSON.parse(readFileSync(live, 'utf8')));
});

liveTest('attached by PID: the target exiting ends the trace with a full report, as --trace-gc counts', async (t) => {
  const { target, pid } = await startWaitingNode(t);
  const output = temporary('gc.json');
  const session = memtrace(['gc', '-p', String(pid), '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing garbage collections of PID \d+/);
  process.kill(pid, 'SIGUSR2');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as GcLog;
  t.is(log.header.target.pid, pid);
  t.is(log.partialReason, null);
  t.deepEqual(kindsOf(log), traceGcKinds(`${finished.stdout}`), `${finished.stdout}`);
  t.is(log.collections.filter((c) => c.reason === 'testing').length, FORCED);
  t.true(log.notes.some((note) => note.includes(`PID ${pid} exited during the trace`)));
});

liveTest('Ctrl-C: the report of what was gathered, marked partial; the target goes on running', async (t) => {
  const { target, pid } = await startWaitingNode(t, ['--linger', '--rss']);
  const output = temporary('gc.json');
  const session = memtrace(['gc', '-p', String(pid), '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing/);
  process.kill(pid, 'SIGUSR2');
  await waitForLine(target.stdout!, new RegExp(`^done ${FORCED}$`));
  session.kill('SIGINT');
  // Once in CI (under a heavier paired pass) one of the 23 was missing: bpftrace, behind, read it after the
  // SIGINT and dropped it. memtrace now waits for bpftrace to be idle first (test/faults/stop-unread.test.ts).
  const log = checkInterruptedLog(t, await session, output);
  t.notThrows(() => process.kill(pid, 0));
  process.kill(pid, 'SIGTERM');
  const finished = await target;
  t.is(finished.exitCode, 0);
  // The RSS the probe reads is the kernel's: within 1 MiB of the target's own reading (/proc/self/stat) as
  // its last gc() returned. Not VmRSS read now: printing and idling grow the target's RSS by 1-2 MB (once
  // in CI, 1.2 MB past its last collection), more the longer a loaded machine takes to end the trace.
  const ownRss = Number(/^rss (\d+)$/m.exec(`${finished.stdout}`)?.[1]);
  const lastForced = log.collections.filter((collection) => collection.reason === 'testing').at(-1)!;
  t.true(Math.abs(ownRss - lastForced.rssAfterBytes) < 2 ** 20, `${ownRss} vs ${lastForced.rssAfterBytes}`);
});

liveTest('--duration ends an attached trace, complete, and leaves the target running', async (t) => {
  const { target, pid } = await startWaitingNode(t, ['--linger']);
  const session = memtrace(['gc', '-p', String(pid), '--duration', '3s', '-f', 'json']);
  await waitForLine(session.stderr!, /memtrace: tracing .* for 3 s/);
  process.kill(pid, 'SIGUSR2');
  const traced = await session;
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const log = JSON.parse(`${traced.stdout}`) as GcLog;
  t.is(log.partialReason, null);
  t.is(log.collections.filter((c) => c.reason === 'testing').length, FORCED);
  t.true(log.durationSeconds! >= 2.9 && log.durationSeconds! < 4, String(log.durationSeconds));
  t.notThrows(() => process.kill(pid, 0));
  process.kill(pid, 'SIGTERM');
  await target;
});

liveTest("Node's USDT probes, where a binary has them: the usdt-gc stand-in, attached, 7 rounds", async (t) => {
  const target = execa(buildWorkload('usdt-gc'), ['7', '--wait'], { reject: false });
  const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
  const session = memtrace(['gc', '-p', String(pid), '-f', 'json']);
  await waitForLine(session.stderr!, /memtrace: tracing .*gc__start\/gc__done/);
  process.kill(pid, 'SIGUSR2');
  const [traced] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const log = JSON.parse(`${traced.stdout}`) as GcLog;
  t.deepEqual(kindsOf(log), { scavenge: 7, 'mark-compact': 7 });
  t.true(log.collections.every((c) => c.reason === null && c.pauseMs >= 2));
  t.deepEqual(log.header.probe, { kind: 'usdt' });
});

liveTest('a PID that does not exist', async (t) => {
  const result = await memtrace(['gc', '-p', '4194000']);
  t.is(result.exitCode, 5);
  t.is(`${result.stderr}`.trim(), 'memtrace-bpf: no process with PID 4194000');
});

liveTest('a running process that is not node: which binary, what was looked for', async (t) => {
  const sleeper = execa('sleep', ['30'], { reject: false });
  const result = await memtrace(['gc', '-p', String(sleeper.pid)]);
  sleeper.kill();
  await sleeper;
  t.is(result.exitCode, 5);
  t.regex(
    `${result.stderr}`,
    /\/usr\/bin\/sleep has neither V8's v8::internal::Heap::PerformGarbageCollection\(…\) in its symbol table nor Node's node:gc__start\/gc__done USDT probes: is it node\?/,
  );
});

liveTest('a launched command that is not node, and a script', async (t) => {
  const binary = await memtrace(['gc', '--', 'true']);
  t.is(binary.exitCode, 5);
  t.regex(`${binary.stderr}`, /\/usr\/bin\/true has neither V8's v8::internal::Heap::PerformGarbageCollection/);
  const script = await memtrace(['gc', '--', `${ROOT}test/fixtures/bpftrace/record-gc.sh`]);
  t.is(script.exitCode, 5);
  t.regex(`${script.stderr}`, /record-gc\.sh: not an ELF file .*; for a script, launch its interpreter: memtrace gc -- node /);
});

liveTest("the launched command's exit code is memtrace's", async (t) => {
  const result = await memtrace(['gc', '--quiet', '-o', temporary('gc.json'), '--', 'node', '-e', 'process.exitCode = 3']);
  t.is(result.exitCode, 3, `${result.stderr}`);
});

const usage = test.macro(async (t, args: string[], message: RegExp) => {
  const result = await memtrace(['gc', ...args]);
  t.is(result.exitCode, 2, `${result.stderr}`);
  t.regex(`${result.stderr}`, message);
});
test('no target', usage, [], /nothing to trace: give -p PID or -- node/);
test('both -p and a command', usage, ['-p', '1', '--', 'node'], /either -p PID or -- COMMAND, not both/);
test('--live and --quiet', usage, ['--live', '--quiet', '-p', '1'], /either --live or --quiet/);
test('an output with an unknown extension', usage, ['-o', 'gc.pb.gz', '-p', '1'], /gc\.pb\.gz: cannot tell the report format/);
test('a bad duration', usage, ['-d', 'soon', '-p', '1'], /--duration: expected a duration/);

test('--help', async (t) => {
  const result = await memtrace(['gc', '--help']);
  t.is(result.exitCode, 0);
  t.true(`${result.stdout}`.startsWith('Usage: memtrace-bpf gc [options] -p PID\n'));
});

test('memtrace scripts gc prints scripts/bpf/gc.bt', async (t) => {
  const result = await memtraceAuto(['scripts', 'gc']);
  t.is(result.exitCode, 0);
  t.is(`${result.stdout}\n`, readFileSync(`${ROOT}scripts/bpf/gc.bt`, 'utf8'));
});

liveTest('--print-script: the program for this node, with the PID and the symbol found in it', async (t) => {
  const result = await memtrace(['gc', '--print-script', '-p', String(process.pid)]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(
    `${result.stdout}`,
    new RegExp(`uprobe:/[^:]+/node:_ZN2v88internal4Heap24PerformGarbageCollection\\w+\\n/pid == ${process.pid}/`),
  );
});
