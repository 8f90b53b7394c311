// The one way memtrace creates user-visible files: symlinks and other users' files refused, files
// given to the sudo user, reports whole or absent, write failures named. Runs as root (CI is root):
// chown and the small tmpfs need it.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  closeSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { OutputError, UsageError } from '../../../src/errors.js';
import {
  checkOutputPath,
  describeOutputCause,
  invokingOwner,
  openOutputFileSync,
  openOutputStream,
  writeOutputFile,
} from '../../../src/tools/common/output-file.js';

const NOBODY = { uid: 65534, gid: 65534 };

function directory(): string {
  return mkdtempSync(join(tmpdir(), 'memtrace-output-test-'));
}

/** A tmpfs of `size` mounted on a fresh directory, unmounted when the test ends. */
function smallDisk(t: { teardown(fn: () => void): void }, size = '64k', options = ''): string {
  const mountPoint = directory();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options}`, 'tmpfs', mountPoint]);
  t.teardown(() => execFileSync('umount', [mountPoint]));
  return mountPoint;
}

test('invokingOwner: SUDO_UID/SUDO_GID as root, nothing otherwise', (t) => {
  t.deepEqual(invokingOwner({ SUDO_UID: '1000', SUDO_GID: '100' }, 0), { uid: 1000, gid: 100 });
  t.deepEqual(invokingOwner({ SUDO_UID: '0', SUDO_GID: '0' }, 0), { uid: 0, gid: 0 });
  t.is(invokingOwner({}, 0), null);
  // Not root: chown is impossible and the variables mean nothing.
  t.is(invokingOwner({ SUDO_UID: '1000', SUDO_GID: '100' }, 1000), null);
});

const malformed = test.macro((t, env: NodeJS.ProcessEnv, message: RegExp) => {
  t.throws(() => invokingOwner(env, 0), { instanceOf: UsageError, message });
});
test(
  'invokingOwner refuses a negative SUDO_UID',
  malformed,
  { SUDO_UID: '-1', SUDO_GID: '100' },
  /^SUDO_UID is "-1": expected a numeric id/,
);
test(
  'invokingOwner refuses a SUDO_UID with text after the number',
  malformed,
  { SUDO_UID: '1000 ', SUDO_GID: '100' },
  /^SUDO_UID is "1000 "/,
);
test('invokingOwner refuses a leading-zero SUDO_GID', malformed, { SUDO_UID: '1000', SUDO_GID: '0100' }, /^SUDO_GID is "0100"/);
test(
  'invokingOwner refuses (uid_t)-1, chown\'s "no change"',
  malformed,
  { SUDO_UID: '4294967295', SUDO_GID: '100' },
  /^SUDO_UID is "4294967295"/,
);
test('invokingOwner refuses SUDO_UID without SUDO_GID', malformed, { SUDO_UID: '1000' }, /^SUDO_GID is not set/);

test('openOutputFileSync creates 0644, chowned to the invoking user before anything is written', (t) => {
  const path = join(directory(), 'log.jsonl');
  const fd = openOutputFileSync(path, NOBODY);
  const stat = statSync(path);
  t.is(stat.size, 0);
  t.is(stat.uid, 65534);
  t.is(stat.gid, 65534);
  t.is(stat.mode & 0o777, 0o644);
  writeSync(fd, 'x\n');
  closeSync(fd);
  t.is(readFileSync(path, 'utf8'), 'x\n');
});

test('openOutputFileSync truncates an existing file of the user memtrace acts for', (t) => {
  const path = join(directory(), 'raw.ndjson');
  writeFileSync(path, 'an older, longer log\n');
  chownSync(path, NOBODY.uid, NOBODY.gid);
  closeSync(openOutputFileSync(path, NOBODY));
  t.is(statSync(path).size, 0);
});

test('openOutputFileSync refuses a symlink at the path and leaves its target unchanged', (t) => {
  const base = directory();
  writeFileSync(join(base, 'somefile'), 'precious\n');
  symlinkSync(join(base, 'somefile'), join(base, 'out.ndjson'));
  t.throws(() => openOutputFileSync(join(base, 'out.ndjson'), null), {
    instanceOf: UsageError,
    message: `${join(base, 'out.ndjson')} is a symbolic link: memtrace does not write through a link at its output path; remove it or choose another path`,
  });
  t.is(readFileSync(join(base, 'somefile'), 'utf8'), 'precious\n');
});

test("openOutputFileSync refuses another user's file, untouched (a hard link to it included)", (t) => {
  const base = directory();
  const theirs = join(base, 'theirs');
  writeFileSync(theirs, 'not yours\n');
  chownSync(theirs, 4242, 4242);
  execFileSync('ln', [theirs, join(base, 'out.ndjson')]);
  t.throws(() => openOutputFileSync(join(base, 'out.ndjson'), NOBODY), {
    instanceOf: UsageError,
    message: `${join(base, 'out.ndjson')} belongs to user 4242: memtrace does not overwrite another user's file; remove it or choose another path`,
  });
  t.is(readFileSync(theirs, 'utf8'), 'not yours\n');
});

test('writeOutputFile writes the whole file, owned by the invoking user, and leaves no sibling', async (t) => {
  const base = directory();
  await writeOutputFile(join(base, 'a.json'), '{"a": 1}\n', NOBODY);
  t.is(readFileSync(join(base, 'a.json'), 'utf8'), '{"a": 1}\n');
  t.is(statSync(join(base, 'a.json')).uid, 65534);
  t.deepEqual(readdirSync(base), ['a.json']);
});

test('writeOutputFile refuses a symlink to a file elsewhere, which keeps its content', async (t) => {
  const base = directory();
  writeFileSync(join(base, 'etc-file'), 'root:x:0:0\n');
  symlinkSync(join(base, 'etc-file'), join(base, 'out.json'));
  await t.throwsAsync(writeOutputFile(join(base, 'out.json'), '{}', null), {
    instanceOf: UsageError,
    message: /out\.json is a symbolic link/,
  });
  t.is(readFileSync(join(base, 'etc-file'), 'utf8'), 'root:x:0:0\n');
  t.true(lstatSync(join(base, 'out.json')).isSymbolicLink());
  t.deepEqual(readdirSync(base).sort(), ['etc-file', 'out.json']);
});

test('writeOutputFile on a full disk: "disk full", no file and no sibling left', async (t) => {
  const disk = smallDisk(t);
  const path = join(disk, 'big.json');
  await t.throwsAsync(writeOutputFile(path, 'x'.repeat(200_000), null), {
    instanceOf: OutputError,
    message: `cannot write ${path}: disk full (ENOSPC); no file was left there`,
  });
  t.deepEqual(readdirSync(disk), []);
});

test('writeOutputFile on a full disk keeps the previous report whole', async (t) => {
  const disk = smallDisk(t);
  const path = join(disk, 'a.json');
  await writeOutputFile(path, '{"before": true}\n', null);
  const error = await t.throwsAsync(writeOutputFile(path, 'x'.repeat(200_000), null));
  t.is(error?.message, `cannot write ${path}: disk full (ENOSPC); its previous content is unchanged`);
  t.is((error as OutputError).exitCode, 6);
  t.is(readFileSync(path, 'utf8'), '{"before": true}\n');
  t.deepEqual(readdirSync(disk), ['a.json']);
});

test('openOutputStream on a full disk: writing stops, close names the cause, the file is a prefix', async (t) => {
  const disk = smallDisk(t);
  const path = join(disk, 'raw.ndjson');
  const stream = openOutputStream(path, NOBODY);
  const line = `${JSON.stringify({ type: 'printf', data: 'y'.repeat(990) })}\n`;
  let text = '';
  for (let i = 0; i < 200; i++) {
    stream.write(line);
    text += line;
  }
  const failure = await stream.close();
  t.true(failure instanceof OutputError);
  t.regex(
    failure!.message,
    new RegExp(
      `^could not write ${path}: disk full \\(ENOSPC\\); it keeps the whole lines written until then \\(\\d+ bytes confirmed\\), a truncated log that memtrace report reads$`,
    ),
  );
  // As many whole lines as 64 KiB hold (the writes went out in one batch that failed part way).
  const written = readFileSync(path, 'utf8');
  t.is(written.length, Math.floor((64 * 1024) / line.length) * line.length);
  t.true(text.startsWith(written));
  t.is(statSync(path).uid, 65534);
});

test('openOutputStream: a stream that succeeds closes with no failure', async (t) => {
  const path = join(directory(), 'raw.ndjson');
  const stream = openOutputStream(path, null);
  stream.write('a\n');
  stream.write('b\n');
  t.is(await stream.close(), null);
  t.is(readFileSync(path, 'utf8'), 'a\nb\n');
});

test('checkOutputPath: a missing directory, a read-only one, a directory and a symlink are refused', async (t) => {
  const base = directory();
  await t.throwsAsync(checkOutputPath(join(base, 'nowhere', 'a.json'), null), {
    instanceOf: UsageError,
    message: `cannot write ${join(base, 'nowhere', 'a.json')}: directory ${join(base, 'nowhere')} does not exist`,
  });
  const readOnly = smallDisk(t, '64k', ',ro');
  await t.throwsAsync(checkOutputPath(join(readOnly, 'a.json'), null), {
    instanceOf: UsageError,
    message: `cannot write ${join(readOnly, 'a.json')}: directory ${readOnly} is on a read-only file system`,
  });
  await t.throwsAsync(checkOutputPath(base, null), { instanceOf: UsageError, message: `cannot write ${base}: it is a directory` });
  symlinkSync('/etc/hostname', join(base, 'out.json'));
  await t.throwsAsync(checkOutputPath(join(base, 'out.json'), null), { instanceOf: UsageError, message: /out\.json is a symbolic link/ });
  await t.notThrowsAsync(checkOutputPath(join(base, 'fresh.json'), null));
});

const cause = test.macro((t, code: string, words: string) => {
  t.is(describeOutputCause(Object.assign(new Error('x'), { code })), words);
});
test('describeOutputCause ENOSPC', cause, 'ENOSPC', 'disk full (ENOSPC)');
test('describeOutputCause EROFS', cause, 'EROFS', 'read-only file system (EROFS)');
test('describeOutputCause EACCES', cause, 'EACCES', 'permission denied (EACCES)');
test('describeOutputCause EDQUOT', cause, 'EDQUOT', 'disk quota exceeded (EDQUOT)');
