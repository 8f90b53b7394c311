import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import test from 'ava';
import { listProcesses, pageSize, parseProcStat, parseStatm, StatmReader } from '../../src/sample/linux-proc.js';

test('statm: pages become bytes; anything else is null', (t) => {
  t.deepEqual(parseStatm('765 417 388 5 0 123 0\n', 4096), { vsz: 765 * 4096, rss: 417 * 4096 });
  t.is(parseStatm('', 4096), null);
  t.is(parseStatm('765', 4096), null);
  t.is(parseStatm('765 abc 1', 4096), null);
});

test('stat: a command name holding ") " and spaces is read whole', (t) => {
  t.deepEqual(parseProcStat('4242 (my (odd) name) S 17 4242 4242 0 -1'), { pid: 4242, ppid: 17, name: 'my (odd) name', state: 'S' });
  t.is(parseProcStat('garbage'), null);
  t.is(parseProcStat('12 (x'), null);
});

test('this process: StatmReader agrees with /proc/self/status to the page', (t) => {
  const reader = new StatmReader(process.pid);
  const memory = reader.read();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  reader.close();
  t.truthy(memory);
  t.is(memory!.vsz, kib('VmSize'));
  // RSS moves between the two reads by a few pages at most (this test's own allocations).
  t.true(Math.abs(memory!.rss - kib('VmRSS')) <= 64 * pageSize());
  t.is(reader.read(), null, 'a closed reader reads nothing');
});

test('a process that exits reads null, and its PID is never re-read', async (t) => {
  const child = spawn('sleep', ['30']);
  await new Promise((resolve) => child.once('spawn', resolve));
  const reader = new StatmReader(child.pid!);
  t.truthy(reader.read());
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.is(reader.read(), null);
  t.is(reader.read(), null);
});

test('a PID that does not exist cannot be opened', (t) => {
  t.throws(() => new StatmReader(4_194_304 + 1));
});

test('listProcesses sees this process with its parent', (t) => {
  const me = listProcesses().find((entry) => entry.pid === process.pid);
  t.is(me?.ppid, process.ppid);
});
