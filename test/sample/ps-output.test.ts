import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError } from '../../src/errors.js';
import { descendants } from '../../src/sample/process-tree.js';
import { parsePsOutput } from '../../src/sample/ps-output.js';
import { fixture } from '../helpers/workloads.js';

test('one process: KiB become bytes, the path becomes the command name', (t) => {
  const [process] = parsePsOutput(readFileSync(fixture('ps/macos-ps-one.txt'), 'utf8'), 'ps -p 25676');
  t.deepEqual(process, { pid: 25676, ppid: 25600, rss: 330588 * 1024, vsz: 35148904 * 1024, name: 'python3' });
});

test('a tree: descendants of the target only, parents first, names with spaces kept', (t) => {
  const all = parsePsOutput(readFileSync(fixture('ps/macos-ps-tree.txt'), 'utf8'), 'ps -A');
  t.is(all.length, 8);
  const tree = descendants(all, 25676);
  t.deepEqual(
    tree.map((entry) => [entry.pid, entry.ppid, entry.name]),
    [
      [25680, 25676, 'python3'],
      [25681, 25676, 'My Tool'],
      [25690, 25680, 'sleep'],
    ],
  );
  t.is(
    tree.reduce((sum, entry) => sum + entry.rss, 0),
    (20480 + 8192 + 4096) * 1024,
  );
});

test('empty output (the process has gone) is no process, not an error', (t) => {
  t.deepEqual(parsePsOutput('', 'ps -p 1'), []);
  t.deepEqual(parsePsOutput('\n\n', 'ps -p 1'), []);
});

test('a garbled or truncated line names the source and the line', (t) => {
  const text = '25676 25600 330588 35148904 /bin/python3\n25680 25676 20480\n';
  const error = t.throws(() => parsePsOutput(text, 'ps -A'), { instanceOf: ParseError });
  t.regex(error.message, /^ps -A:2: not valid ps output: expected PID PPID RSS\(KiB\) VSZ\(KiB\) COMMAND: "25680 25676 20480"/);
  t.throws(() => parsePsOutput('  PID  PPID   RSS      VSZ COMM\n', 'ps -p 1'), { message: /ps -p 1:1:/ });
});

test('descendants: a cycle or a process that is its own parent does not loop', (t) => {
  const entries = [
    { pid: 1, ppid: 1, name: 'init' },
    { pid: 10, ppid: 1, name: 'a' },
    { pid: 11, ppid: 10, name: 'b' },
    { pid: 10, ppid: 11, name: 'a-again' },
  ];
  t.deepEqual(
    descendants(entries, 1).map((entry) => entry.pid),
    [10, 11],
  );
  t.deepEqual(descendants(entries, 99), []);
});
