import test from 'ava';
import { inspectPythonProcess, planPythonProbes, type PythonInterpreter } from '../../../src/tools/calls/python-interpreter.js';

const ALL = [
  'audit',
  'gc__done',
  'gc__start',
  'line',
  'import__find__load__start',
  'import__find__load__done',
  'function__entry',
  'function__return',
];
const interpreter = (version: [number, number] | null, probes: string[], extra: Partial<PythonInterpreter> = {}): PythonInterpreter => ({
  executable: '/usr/bin/python3.11',
  binary: '/usr/bin/python3.11',
  version,
  probes,
  isPython: true,
  ...extra,
});

test('3.11 with its probes: entry/return with the line probe on, and says so', (t) => {
  const plan = planPythonProbes(interpreter([3, 11], ALL));
  t.deepEqual(plan.probes, { binary: '/usr/bin/python3.11', lines: true });
  t.regex(
    plan.notes[0]!,
    /^CPython 3\.11 \(\/usr\/bin\/python3\.11\): calls and returns of Python functions, seen while the line probe is enabled too/,
  );
  t.regex(plan.notes[1]!, /^not seen: builtin C functions/);
});

test('3.10 and 3.15 with probes: entry/return alone', (t) => {
  for (const version of [
    [3, 10],
    [3, 15],
  ] as Array<[number, number]>) {
    const plan = planPythonProbes(interpreter(version, ['function__entry', 'function__return', 'line']));
    t.deepEqual(plan.probes, { binary: '/usr/bin/python3.11', lines: false });
  }
});

test('3.12 to 3.14: no probes, says they were removed', (t) => {
  for (const minor of [12, 13, 14]) {
    const plan = planPythonProbes(interpreter([3, minor], [], { binary: `/opt/lib/libpython3.${minor}.so.1.0` }));
    t.is(plan.probes, null);
    t.regex(
      plan.notes[0]!,
      new RegExp(
        `^CPython 3\\.${minor} \\(/opt/lib/libpython3\\.${minor}\\.so\\.1\\.0\\) has no function probes: CPython 3\\.12 to 3\\.14 removed them`,
      ),
    );
  }
});

test('a build without --with-dtrace, and a process that is no Python', (t) => {
  t.regex(planPythonProbes(interpreter([3, 11], [])).notes[0]!, /was built without USDT probes \(configure --with-dtrace\)/);
  const sleep = planPythonProbes(interpreter(null, [], { executable: '/usr/bin/sleep', binary: '/usr/bin/sleep', isPython: false }));
  t.is(sleep.probes, null);
  t.deepEqual(sleep.notes, ['/usr/bin/sleep is not a Python interpreter: no Python events (--func probes native functions)']);
});

test('inspects this process: node is no Python', async (t) => {
  const found = await inspectPythonProcess(process.pid, []);
  t.false(found.isPython);
  t.deepEqual(found.probes, []);
  t.is(found.version, null);
});
