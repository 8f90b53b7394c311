// memtrace-bpf calls: RSS at Python calls and returns (Debian's python3.11, USDT) and around native
// functions, traced for real; and the ways it refuses to start.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import type { CallEvent, CallLog, FunctionGrowth } from '../../src/model/call-log.js';
import { liveTest } from '../helpers/live.js';
import { memtrace, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';

const PYTHON = DEBIAN_PYTHON;
/** Live tests of Debian's python3.11, and of pyenv's builds that lack the probes (CI's machine has them). */
const pythonTest = needing([PYTHON_NEED], liveTest);
const PYENV_311 = '/root/.pyenv/versions/3.11.7/bin/python3.11';
const PYENV_312 = '/root/.pyenv/versions/3.12.1/bin/python3.12';
const pyenvTest = needing(
  [PYENV_311, PYENV_312].map((path) => ({ what: path, present: existsSync(path), install: { command: 'pyenv install 3.11.7 3.12.1' } })),
  liveTest,
);
const GROW = `${ROOT}test/workloads/python/grow.py`;
const PAGE = 4096;
const MIB = 1024 * 1024;
/** A filled 1 MiB bytes object is its own mmap of 1 MiB plus a page (the object header). */
const GROWN = 23 * (MIB + PAGE);
/**
 * The kernel's RSS counters are per-CPU batched (percpu_counter, batch 32 pages here): a reading is
 * off by up to 32 pages per CPU. Two readings (ΔRSS) by up to twice that on this 2-CPU machine.
 */
const TOLERANCE = 2 * 32 * 2 * PAGE;

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

interface CallsReport extends CallLog {
  functions: FunctionGrowth[];
}

function readReport(path: string): CallsReport {
  return JSON.parse(readFileSync(path, 'utf8')) as CallsReport;
}

function growthOf(report: CallsReport, name: string): FunctionGrowth {
  const found = report.functions.find((fn) => fn.function === name && fn.file === GROW);
  if (found === undefined) throw new Error(`${name} not in ${JSON.stringify(report.functions.map((fn) => fn.function))}`);
  return found;
}

function within(actual: number, expected: number, tolerance: number): boolean {
  return Math.abs(actual - expected) <= tolerance;
}

pythonTest('launched: hold_out_grow grows RSS by 23 MiB and hold_out_release gives it back; the interpreter described first', async (t) => {
  const output = temporary('calls.json');
  const result = await memtrace(['calls', '-o', output, '--', PYTHON, GROW]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(
    `${result.stderr}`,
    /memtrace: CPython 3\.11 \(\/usr\/bin\/python3\.11\): calls and returns of Python functions, seen while the line probe is enabled too/,
  );
  t.regex(`${result.stderr}`, /memtrace: not seen: builtin C functions/);
  const report = readReport(output);
  t.false(report.partial);
  t.is(report.header.trigger, PAGE);
  t.is(report.header.lostEvents, 0);
  const grow = growthOf(report, 'hold_out_grow');
  t.true(within(grow.growth, GROWN, TOLERANCE), `growth ${grow.growth} vs ${GROWN}`);
  const release = growthOf(report, 'hold_out_release');
  t.true(within(release.shrink, -GROWN, TOLERANCE), `shrink ${release.shrink} vs ${-GROWN}`);
  // The move is logged at the return, with the call before it kept as context.
  const index = report.events.findIndex((event) => event.function === 'hold_out_grow' && event.event === 'RETURN');
  t.deepEqual(
    [report.events[index - 1]!.event, report.events[index - 1]!.role, report.events[index - 1]!.function],
    ['CALL', 'prev', 'hold_out_grow'],
  );
  t.true(report.events.every((event) => event.rss % PAGE === 0));
  t.true((report.tracer?.seenEvents ?? 0) > report.events.length);
  t.true((report.tracer?.lineEvents ?? 0) > 0);

  // memtrace report renders the saved json again: the same events and ranking.
  const again = await memtraceAuto(['report', output, '-f', 'json']);
  t.is(again.exitCode, 0, `${again.stderr}`);
  const reread = JSON.parse(`${again.stdout}`) as CallsReport;
  t.deepEqual(reread.events, report.events);
  t.deepEqual(reread.functions, report.functions);
  const table = await memtraceAuto(['report', output]);
  t.regex(`${table.stdout}`, /Functions by RSS growth/);
  t.regex(`${table.stdout}`, /hold_out_grow/);
});

/** Starts grow.py waiting on its standard input; a line lets it go. */
function startWaitingPython(args: string[]) {
  return execa(PYTHON, [GROW, '--wait-stdin', ...args], { reject: false, stdin: 'pipe' });
}

pythonTest('attached with --trigger 0: every call and return of the workload is logged, counted exactly', async (t) => {
  const target = startWaitingPython(['--calls', '23']);
  const output = temporary('calls.json');
  const raw = temporary('calls.raw.ndjson');
  const session = memtrace(['calls', '-p', String(target.pid), '--trigger', '0', '-o', output, '--raw-out', raw]);
  await waitForLine(session.stderr!, /memtrace: tracing PID \d+/);
  target.stdin!.end('go\n');
  const [traced, finished] = await Promise.all([session, target]);
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  t.is(`${finished.stdout}`, 'python calls made: 25');
  const report = readReport(output);
  const count = (name: string, kind: string) =>
    report.events.filter((event: CallEvent) => event.function === name && event.file === GROW && event.event === kind).length;
  t.is(count('tiny', 'CALL'), 23);
  t.is(count('tiny', 'RETURN'), 23);
  t.is(count('hold_out_grow', 'CALL'), 1);
  t.is(count('hold_out_release', 'RETURN'), 1);
  // main was running at attach: its return is seen, its call is not.
  t.is(count('main', 'CALL'), 0);
  t.is(count('main', 'RETURN'), 1);
  // Every event seen was logged.
  t.is(report.tracer?.seenEvents, report.events.length);
  t.is(report.header.trigger, 0);
  t.true(within(growthOf(report, 'hold_out_grow').growth, GROWN, TOLERANCE));
  // The raw log renders to the same events.
  const again = await memtraceAuto(['report', raw, '-f', 'json']);
  t.is(again.exitCode, 0, `${again.stderr}`);
  t.deepEqual((JSON.parse(`${again.stdout}`) as CallsReport).events, report.events);
});

liveTest("--func on a C program: RSS either side of touch_pages and drop_pages, to the counters' batch", async (t) => {
  const binary = buildWorkload('func-pages');
  const output = temporary('calls.json');
  const result = await memtrace(['calls', '--func', `${binary}:*_pages`, '-o', output, '--', binary, '2311', '3']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stderr}`, /native functions: func-pages:touch_pages, func-pages:drop_pages/);
  const report = readReport(output);
  const returns = (name: string) => report.events.filter((event) => event.function === name && event.event === 'RETURN');
  t.is(returns('touch_pages').length, 3);
  t.is(returns('drop_pages').length, 3);
  for (const event of returns('touch_pages'))
    t.true(within(event.drss, 2311 * PAGE, TOLERANCE) && event.drss % PAGE === 0, `touch_pages ΔRSS ${event.drss}`);
  for (const event of returns('drop_pages'))
    t.true(within(event.drss, -2311 * PAGE, TOLERANCE) && event.drss % PAGE === 0, `drop_pages ΔRSS ${event.drss}`);
  // Each return's ΔRSS is measured from its own entry, logged just before it.
  for (const event of returns('touch_pages')) {
    const before = report.events[report.events.indexOf(event) - 1]!;
    t.deepEqual([before.event, before.function], ['ENTRY', 'touch_pages']);
  }
});

pythonTest('Ctrl-C: the report of what was gathered, marked partial; the target goes on', async (t) => {
  const target = startWaitingPython(['--repeat', '100000']);
  const output = temporary('calls.json');
  const session = memtrace(['calls', '-p', String(target.pid), '-o', output]);
  await waitForLine(session.stderr!, /memtrace: tracing PID \d+/);
  target.stdin!.end('go\n');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  session.kill('SIGINT');
  const traced = await session;
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const report = readReport(output);
  t.true(report.partial);
  t.is(report.partialReason, 'interrupted by SIGINT');
  t.true(report.events.some((event) => event.function === 'hold_out_grow'));
  t.true(process.kill(target.pid!, 0));
  target.kill('SIGKILL');
  await target;
});

liveTest('a PID that does not exist', async (t) => {
  const result = await memtrace(['calls', '-p', '4194000']);
  t.is(result.exitCode, 5);
  t.is(`${result.stderr}`, 'memtrace-bpf: no process with PID 4194000');
});

liveTest('a non-Python command without --func: says so and traces nothing', async (t) => {
  const result = await memtrace(['calls', '--', '/bin/true']);
  t.is(result.exitCode, 5);
  t.is(`${result.stderr}`, 'memtrace-bpf: nothing to trace: /bin/true is not a Python command: only the --func functions are traced');
});

liveTest('an attached non-Python process without --func: not a Python interpreter', async (t) => {
  const target = execa('/bin/sleep', ['30'], { reject: false });
  const result = await memtrace(['calls', '-p', String(target.pid)]);
  target.kill('SIGKILL');
  await target;
  t.is(result.exitCode, 5);
  t.is(
    `${result.stderr}`,
    'memtrace-bpf: nothing to trace: /usr/bin/sleep is not a Python interpreter: no Python events (--func probes native functions)',
  );
});

pyenvTest('a Python built without probes, and 3.12 which removed them: each says why and what to use', async (t) => {
  const script = temporary('wait.py');
  writeFileSync(script, 'import sys\nsys.stdin.readline()\n');
  for (const [python, why] of [
    [
      PYENV_311,
      /CPython 3\.11 \(\/root\/\.pyenv\/versions\/3\.11\.7\/bin\/python3\.11\) was built without USDT probes \(configure --with-dtrace\): no Python events; use --func/,
    ],
    [PYENV_312, /CPython 3\.12 \(.*\) has no function probes: CPython 3\.12 to 3\.14 removed them; use --func, or CPython 3\.15/],
  ] as const) {
    const target = execa(python, [script], { reject: false, stdin: 'pipe' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await memtrace(['calls', '-p', String(target.pid)]);
    target.stdin!.end('\n');
    await target;
    t.is(result.exitCode, 5, `${result.stderr}`);
    t.regex(`${result.stderr}`, why);
  }
});

const badFunc = test.macro(async (t, args: string[], message: RegExp) => {
  const result = await memtrace(['calls', ...args, '--', buildWorkload('func-pages')]);
  t.is(result.exitCode, 2, `${result.stderr}`);
  t.regex(`${result.stderr}`, message);
});
liveTest('a --func outside the grammar', badFunc, ['--func', 'libc.so.6:free;system'], /--func: expected LIB:GLOB/);
liveTest(
  'a --func library that matches nothing',
  badFunc,
  ['--func', 'libnothing.so*:f'],
  /--func libnothing\.so\*:f: no library matches libnothing\.so\*/,
);
liveTest(
  'a --func symbol that matches nothing',
  badFunc,
  ['--func', `${ROOT}test/workloads/bin/func-pages:no_such_*`],
  /no function symbol matches no_such_\* in /,
);

pyenvTest('a launched Python without probes is refused before the program runs a line', async (t) => {
  const script = temporary('say.py');
  writeFileSync(script, 'print("the program ran")\n');
  const result = await memtrace(['calls', '--', PYENV_311, script]);
  t.is(result.exitCode, 5);
  t.regex(`${result.stderr}`, /was built without USDT probes/);
  t.false(`${result.stdout}${result.stderr}`.includes('the program ran'));
});

test('--help prints the help; no target is a usage error', async (t) => {
  const help = await memtrace(['calls', '--help']);
  t.is(help.exitCode, 0);
  t.true(`${help.stdout}`.startsWith('Usage: memtrace-bpf calls [options] -p PID\n'));
  const none = await memtrace(['calls']);
  t.is(none.exitCode, 2);
  t.regex(`${none.stderr}`, /nothing to trace: give -p PID or -- COMMAND/);
  const trigger = await memtrace(['calls', '--trigger', 'lots', '-p', '1']);
  t.is(trigger.exitCode, 2);
  t.regex(`${trigger.stderr}`, /--trigger: expected a size in bytes/);
});
