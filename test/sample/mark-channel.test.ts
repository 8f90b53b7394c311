import { createConnection } from 'node:net';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { TargetError, UsageError } from '../../src/errors.js';
import { closeChannel, listenChannel, markSocketPath, sendMark, socketDirectory, validateMarkText } from '../../src/sample/mark-channel.js';
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

test.serial("a mark, heap figures and the preload's hello reach the sampler; bad lines are answered, not fatal", async (t) => {
  const path = markSocketPath(FAKE_PID);
  const marks: string[] = [];
  const heaps: Array<[number, HeapValues, string]> = [];
  const hellos: Array<[number, string, string | undefined]> = [];
  const server = await listenChannel(path, {
    mark: (text) => (marks.push(text), { elapsed: 1.25 }),
    heap: (pid, values, via) => heaps.push([pid, values, via]),
    preload: (pid, via, why) => hellos.push([pid, via, why]),
  });
  try {
    t.deepEqual(await sendMark(FAKE_PID, 'loaded 1M rows'), { elapsed: 1.25 });
    t.deepEqual(marks, ['loaded 1M rows']);
    t.is(await exchange(path, 'not json\n'), '{"ok":false,"error":"not JSON"}');
    t.is(await exchange(path, '{"mark":""}\n'), '{"ok":false,"error":"a mark needs a text"}');
    t.is(await exchange(path, '{"what":1}\n'), '{"ok":false,"error":"expected {\\"mark\\": TEXT}"}');
    const heap = { pid: 7, heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 };
    t.is(
      await exchange(path, `${JSON.stringify({ heap })}\n${JSON.stringify({ heap: { ...heap, heapUsed: -1 } })}\n{"mark":"after"}\n`),
      '{"ok":true,"elapsed":1.25}',
    );
    t.deepEqual(heaps, [[7, { heapUsed: 1, heapTotal: 2, external: 3, arrayBuffers: 4 }, 'timer']], 'a negative figure is refused');
    // The worker thread sends heapUsed and heapTotal alone, and says hello; a hello without a known way is dropped.
    const lines = [
      { heap: { pid: 7, heapUsed: 5, heapTotal: 6, via: 'inspector' } },
      { preload: { pid: 7, via: 'timer', why: 'no\ninspector' } },
      { preload: { pid: 7, via: 'carrier pigeon' } },
    ];
    t.is(await exchange(path, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n{"mark":"after"}\n`), '{"ok":true,"elapsed":1.25}');
    t.deepEqual(heaps.at(-1), [7, { heapUsed: 5, heapTotal: 6 }, 'inspector']);
    t.deepEqual(hellos, [[7, 'timer', 'no inspector']]);
    await t.throwsAsync(listenChannel(path, { mark: () => null, heap: () => {}, preload: () => {} }), {
      instanceOf: TargetError,
      message: /already sampling/,
    });
  } finally {
    await closeChannel(server, path);
  }
});

test.serial('a stale socket file left by a killed sampler is replaced', async (t) => {
  const path = markSocketPath(FAKE_PID);
  writeFileSync(path, '');
  const server = await listenChannel(path, { mark: () => ({ elapsed: 2 }), heap: () => {}, preload: () => {} });
  try {
    t.deepEqual(await sendMark(FAKE_PID, 'x'), { elapsed: 2 });
  } finally {
    await closeChannel(server, path);
  }
});

test.serial('marking a PID that nobody samples says so; a stopped sampler refuses', async (t) => {
  await t.throwsAsync(sendMark(FAKE_PID, 'x'), {
    instanceOf: TargetError,
    message: `no memtrace process is sampling PID ${FAKE_PID} (no socket answers at ${markSocketPath(FAKE_PID)})`,
  });
  const path = markSocketPath(FAKE_PID);
  const server = await listenChannel(path, { mark: () => null, heap: () => {}, preload: () => {} });
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

/** Runs `body` with os.tmpdir() pointing at a fresh directory, so that planted names there disturb no other run. */
function withTmpdir<T>(body: (base: string) => T): T {
  const base = mkdtempSync(join(tmpdir(), 'memtrace-mark-test-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = base;
  try {
    return body(base);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

test.serial('the socket directory is XDG_RUNTIME_DIR/memtrace when that is private to the user, created 0700', (t) => {
  withTmpdir((base) => {
    const runtime = join(base, 'run-user');
    mkdirSync(runtime, { mode: 0o700 });
    t.is(socketDirectory({ XDG_RUNTIME_DIR: runtime }, 0), join(runtime, 'memtrace'));
    t.is(lstatSync(join(runtime, 'memtrace')).mode & 0o777, 0o700);
    t.deepEqual(readdirSync(base), ['run-user']);
  });
});

test.serial('an XDG_RUNTIME_DIR of another user (sudo -E) or a relative one is passed over for /tmp/memtrace-UID', (t) => {
  withTmpdir((base) => {
    const runtime = join(base, 'run-user-1000');
    mkdirSync(runtime, { mode: 0o700 });
    chownSync(runtime, 1000, 1000);
    t.is(socketDirectory({ XDG_RUNTIME_DIR: runtime }, 0), join(base, 'memtrace-0'));
    t.is(socketDirectory({ XDG_RUNTIME_DIR: 'run' }, 0), join(base, 'memtrace-0'));
    t.deepEqual(readdirSync(runtime), []);
  });
});

const planted = (t: import('ava').ExecutionContext, plant: (path: string, base: string) => void) =>
  withTmpdir((base) => {
    const path = join(base, 'memtrace-0');
    plant(path, base);
    t.throws(() => socketDirectory({}, 0), {
      instanceOf: TargetError,
      message: `${path} is not a private directory of user 0 (a real directory, owned by it, mode 0700): refusing to put the mark socket there; remove it if you did not create it`,
    });
    return base;
  });

test.serial('a /tmp/memtrace-UID planted by another user is refused', (t) => {
  planted(t, (path) => {
    mkdirSync(path, { mode: 0o700 });
    chownSync(path, 65534, 65534);
  });
});

test.serial('a /tmp/memtrace-UID symlink to a private directory is refused, not followed', (t) => {
  const base = planted(t, (path, base) => {
    mkdirSync(join(base, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(base, 'elsewhere'), path);
  });
  t.deepEqual(readdirSync(join(base, 'elsewhere')), []);
});

test.serial('a /tmp/memtrace-UID others can write to is refused', (t) => {
  planted(t, (path) => {
    mkdirSync(path);
    chmodSync(path, 0o777);
  });
});
