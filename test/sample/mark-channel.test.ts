import { createConnection } from 'node:net';
import { writeFileSync } from 'node:fs';
import test from 'ava';
import { TargetError, UsageError } from '../../src/errors.js';
import { closeChannel, listenChannel, markSocketPath, sendMark, validateMarkText } from '../../src/sample/mark-channel.js';
import type { HeapValues } from '../../src/sample/sampler.js';

// The channel of a PID no real sampler uses: above the kernel's pid_max.
const FAKE_PID = 4_194_304 + 7;

function exchange(path: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let answer = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(line));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\n')) {
        socket.destroy();
        resolve(answer.trim());
      }
    });
    socket.once('error', reject);
  });
}

test.serial('a mark and heap figures reach the sampler; bad lines are answered, not fatal', async (t) => {
  const path = markSocketPath(FAKE_PID);
  const marks: string[] = [];
  const heaps: Array<[number, HeapValues]> = [];
  const server = await listenChannel(path, {
    mark: (text) => (marks.push(text), { elapsed: 1.25 }),
    heap: (pid, values) => heaps.push([pid, values]),
  });
  try {
    t.deepEqual(await sendMark(FAKE_PID, 'loaded 1M rows'), { elapsed: 1.25 });
    t.deepEqual(marks, ['loaded 1M rows']);
    t.is(await exchange(path, 'not json\n'), '{"ok":false,"error":"not JSON"}');
    t.is(await exchange(path, '{"mark":""}\n'), '{"ok":false,"error":"a mark needs a text"}');
    t.is(await exchange(path, '{"what":1}\n'), '{"ok":false,"error":"expected {\\"mark\\": TEXT}"}');
    const heap = { pid: 7, heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 };
    t.is(await exchange(path, `${JSON.stringify({ heap })}\n${JSON.stringify({ heap: { ...heap, heapUsed: -1 } })}\n{"mark":"after"}\n`), '{"ok":true,"elapsed":1.25}');
    t.deepEqual(heaps, [[7, { heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 }]], 'a negative figure is refused');
    await t.throwsAsync(listenChannel(path, { mark: () => null, heap: () => {} }), { instanceOf: TargetError, message: /already sampling/ });
  } finally {
    await closeChannel(server, path);
  }
});

test.serial('a stale socket file left by a killed sampler is replaced', async (t) => {
  const path = markSocketPath(FAKE_PID);
  writeFileSync(path, '');
  const server = await listenChannel(path, { mark: () => ({ elapsed: 2 }), heap: () => {} });
  try {
    t.deepEqual(await sendMark(FAKE_PID, 'x'), { elapsed: 2 });
  } finally {
    await closeChannel(server, path);
  }
});

test.serial('marking a PID that nobody samples says so; a stopped sampler refuses', async (t) => {
  await t.throwsAsync(sendMark(FAKE_PID, 'x'), { instanceOf: TargetError, message: `no memtrace process is sampling PID ${FAKE_PID} (no socket answers at ${markSocketPath(FAKE_PID)})` });
  const path = markSocketPath(FAKE_PID);
  const server = await listenChannel(path, { mark: () => null, heap: () => {} });
  try {
    await t.throwsAsync(sendMark(FAKE_PID, 'late'), { message: /refused the mark: sampling has stopped/ });
  } finally {
    await closeChannel(server, path);
  }
});

test('mark texts: empty and overlong refused, control characters blanked', (t) => {
  t.throws(() => validateMarkText(''), { instanceOf: UsageError });
  t.throws(() => validateMarkText('x'.repeat(501)), { message: 'a mark is at most 500 characters, got 501' });
  t.is(validateMarkText('two\nlines\u001b[31m'), 'two lines [31m');
});
