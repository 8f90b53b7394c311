// Reading a process's listening sockets from /proc: the kernel's tables recorded from a real run
// (test/fixtures/proc-net/README.md says how), and the live /proc of a Node process memtrace starts.
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import test from 'ava';
import { catchesSigusr1, listeningSockets, parseListeningSockets, sharesNetworkNamespace } from '../../src/node/inspector-port.js';
import { ROOT } from '../helpers/workloads.js';
import { waitForLine } from '../helpers/cli.js';

const fixture = (name: string) => readFileSync(`${ROOT}test/fixtures/proc-net/${name}`, 'utf8');
const ALL = new Set(['1244', '1604972', '1605969', '1605959', '1605015']);

test('tcp: the listening sockets of the given inodes, a wildcard address reached by loopback; TIME_WAIT lines and other inodes left out', (t) => {
  t.deepEqual(parseListeningSockets(fixture('tcp'), 'tcp', ALL), [
    { host: '127.0.0.1', port: 2024 },
    { host: '127.0.0.1', port: 41963 },
    { host: '127.0.0.1', port: 45675 },
  ]);
  t.deepEqual(parseListeningSockets(fixture('tcp'), 'tcp', new Set(['1604972'])), [{ host: '127.0.0.1', port: 41963 }]);
  t.deepEqual(parseListeningSockets(fixture('tcp'), 'tcp', new Set()), []);
});

test('tcp6: [::] and [::1] are both reached at ::1; an IPv4-mapped and a real address are kept as such', (t) => {
  t.deepEqual(parseListeningSockets(fixture('tcp6'), 'tcp6', ALL), [
    { host: '::1', port: 33529 },
    { host: '::1', port: 38789 },
  ]);
  const mapped =
    '   0: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0 100 0 0 10 0';
  const global =
    '   0: B80D0120000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 8 1 0 100 0 0 10 0';
  t.deepEqual(parseListeningSockets(`header\n${mapped}\n${global}`, 'tcp6', new Set(['7', '8'])), [
    { host: '127.0.0.1', port: 8080 },
    { host: '2001:db8::1', port: 8081 },
  ]);
});

test('truncated, garbled and empty tables give the sockets that can be read, never an error', (t) => {
  const lines = fixture('tcp').split('\n');
  t.deepEqual(parseListeningSockets(lines.slice(0, 3).join('\n') + '\n   2: 00000000:B2', 'tcp', ALL), [
    { host: '127.0.0.1', port: 2024 },
    { host: '127.0.0.1', port: 41963 },
  ]);
  t.deepEqual(parseListeningSockets('', 'tcp', ALL), []);
  t.deepEqual(parseListeningSockets('\u0000\u0001garbage\n1 2 3 0A 5 6 7 8 9 1244', 'tcp', ALL), []);
  t.deepEqual(parseListeningSockets(fixture('tcp6'), 'tcp', ALL), [], 'an IPv6 table read as IPv4 gives nothing');
});

test('live: a Node process with --inspect=127.0.0.1:0 lists its port; it handles SIGUSR1, sleep does not; both share our network namespace', async (t) => {
  const node = execa('node', ['--inspect=127.0.0.1:0', '-e', 'setTimeout(() => {}, 30000)'], { reject: false });
  const sleep = execa('sleep', ['30'], { reject: false });
  t.teardown(() => {
    node.kill();
    sleep.kill();
  });
  const line = await waitForLine(node.stderr!, /Debugger listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
  const port = Number(/:(\d+)\//.exec(line)![1]);
  t.deepEqual(listeningSockets(node.pid!), [{ host: '127.0.0.1', port }]);
  t.true(catchesSigusr1(node.pid!));
  t.false(catchesSigusr1(sleep.pid!));
  t.deepEqual(listeningSockets(sleep.pid!), []);
  t.true(sharesNetworkNamespace(node.pid!));
  t.throws(() => listeningSockets(4194300), { code: 'ENOENT' });
});
