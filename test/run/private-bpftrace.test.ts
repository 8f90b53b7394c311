// The private root's wrapper (quoting) and which bpftrace memtrace finds, in which order, pointed at
// temporary roots through MEMTRACE_BPFTRACE_ROOT so that nothing under /var/lib is read or written.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { TracerError, UsageError } from '../../src/errors.js';
import { findBpftrace, locateBpftrace, tracerComment } from '../../src/run/bpftrace.js';
import {
  DEFAULT_PRIVATE_ROOT,
  findPrivateBpftrace,
  privateRootDirectory,
  renderWrapper,
  validateRootDirectory,
} from '../../src/run/private-bpftrace.js';
import { fakeBpftrace } from '../helpers/fake-bpftrace.js';
import { makeFakeRoot } from '../helpers/private-root.js';
import { makeTemporaryDirectory } from '../symbols/helpers.js';

const temporary = makeTemporaryDirectory('private-bpftrace');
test.after.always(() => temporary.cleanup());
let roots = 0;

/** A fake root with its wrapper written by renderWrapper, as setup-bpftrace writes it. */
function rootWithWrapper(name = `root ${roots++}`): string {
  const dir = join(temporary.dir, name);
  mkdirSync(dir, { mode: 0o755 });
  makeFakeRoot(dir);
  writeFileSync(join(dir, 'bpftrace'), renderWrapper(dir), { mode: 0o755 });
  return dir;
}

/** A bpftrace on PATH that is not the private one. */
const pathDir = join(temporary.dir, 'path');
mkdirSync(pathDir);
copyFileSync(fakeBpftrace(), join(pathDir, 'bpftrace'));

test("the wrapper runs the root's bpftrace through its loader, with paths of spaces, quotes and $ intact", (t) => {
  const dir = rootWithWrapper(`it's a "root" with $HOME and \`x\``);
  const wrapper = join(dir, 'bpftrace');
  const out = execFileSync(wrapper, ['-e', 'uprobe:libc:malloc { @[ustack] = count(); }', 'two words', ''], { encoding: 'utf8' });
  t.is(out, `<-e>\n<uprobe:libc:malloc { @[ustack] = count(); }>\n<two words>\n<>\n`);
  t.is(execFileSync(wrapper, ['--version'], { encoding: 'utf8' }), 'bpftrace v0.27.0\n');
});

test('the wrapper names the loader and both library directories of the root', (t) => {
  t.is(
    renderWrapper('/var/lib/memtrace/bpftrace-root', 'x64').split('\n').at(-2),
    "exec '/var/lib/memtrace/bpftrace-root/lib64/ld-linux-x86-64.so.2' --library-path '/var/lib/memtrace/bpftrace-root/lib/x86_64-linux-gnu:/var/lib/memtrace/bpftrace-root/usr/lib/x86_64-linux-gnu' '/var/lib/memtrace/bpftrace-root/usr/bin/bpftrace' \"$@\"",
  );
  t.regex(
    renderWrapper('/r', 'arm64'),
    /'\/r\/lib\/ld-linux-aarch64\.so\.1' --library-path '\/r\/lib\/aarch64-linux-gnu:\/r\/usr\/lib\/aarch64-linux-gnu'/,
  );
  t.throws(() => renderWrapper('/r', 'ia32'), { instanceOf: UsageError, message: /x64 and arm64/ });
});

test("a root directory the loader's library path cannot carry is refused", (t) => {
  t.is(validateRootDirectory('/opt/my root'), '/opt/my root');
  for (const dir of ['/opt/a:b', '/opt/a;b', '/opt/a\nb'])
    t.throws(() => validateRootDirectory(dir), { instanceOf: UsageError, message: /library path cannot carry/ });
  t.throws(() => validateRootDirectory('relative'), { instanceOf: UsageError, message: /absolute/ });
});

test('the private root is $MEMTRACE_BPFTRACE_ROOT, else the default; empty turns it off', (t) => {
  t.is(privateRootDirectory({}), DEFAULT_PRIVATE_ROOT);
  t.is(privateRootDirectory({ MEMTRACE_BPFTRACE_ROOT: '/elsewhere' }), '/elsewhere');
  t.is(privateRootDirectory({ MEMTRACE_BPFTRACE_ROOT: '' }), null);
});

test('discovery order: --tracer-path, $MEMTRACE_BPFTRACE, the private root, PATH', async (t) => {
  const root = rootWithWrapper();
  const env = { PATH: pathDir, MEMTRACE_BPFTRACE_ROOT: root };
  t.deepEqual(await locateBpftrace({ path: '/opt/given/bpftrace', env: { ...env, MEMTRACE_BPFTRACE: '/opt/env/bpftrace' } }), {
    path: '/opt/given/bpftrace',
    source: 'option',
  });
  t.deepEqual(await locateBpftrace({ env: { ...env, MEMTRACE_BPFTRACE: '/opt/env/bpftrace' } }), {
    path: '/opt/env/bpftrace',
    source: 'env',
  });
  t.deepEqual(await locateBpftrace({ env }), { path: join(root, 'bpftrace'), origin: 'memtrace setup-bpftrace', source: 'private-root' });
  t.deepEqual(await locateBpftrace({ env: { ...env, MEMTRACE_BPFTRACE_ROOT: '' } }), { path: join(pathDir, 'bpftrace'), source: 'path' });
  t.deepEqual(await locateBpftrace({ env: { ...env, MEMTRACE_BPFTRACE_ROOT: join(temporary.dir, 'never set up') } }), {
    path: join(pathDir, 'bpftrace'),
    source: 'path',
  });
  t.is(await locateBpftrace({ env: { PATH: join(temporary.dir, 'empty'), MEMTRACE_BPFTRACE_ROOT: '' } }), null);
});

test('the private bpftrace found is named in the program comment, with where it came from', async (t) => {
  const root = rootWithWrapper();
  const bpftrace = await findBpftrace({ env: { PATH: pathDir, MEMTRACE_BPFTRACE_ROOT: root } });
  t.is(bpftrace.version, '0.27.0');
  t.is(
    tracerComment(bpftrace, []).split('\n')[0],
    `// memtrace: written for bpftrace 0.27.0 (${join(root, 'bpftrace')}, from memtrace setup-bpftrace)`,
  );
  const onPath = await findBpftrace({ env: { PATH: pathDir, MEMTRACE_BPFTRACE_ROOT: '' } });
  t.is(tracerComment(onPath, []).split('\n')[0], `// memtrace: written for bpftrace 0.17.0 (${join(pathDir, 'bpftrace')})`);
});

test('a private root others could change is refused, not run as root and not skipped', (t) => {
  const writable = rootWithWrapper();
  chmodSync(join(writable, 'bpftrace'), 0o777);
  t.throws(() => findPrivateBpftrace({ MEMTRACE_BPFTRACE_ROOT: writable }), {
    instanceOf: TracerError,
    message: /bpftrace is writable by other users; run "sudo memtrace-bpf setup-bpftrace --rebuild --dir /,
  });

  const openDirectory = rootWithWrapper();
  chmodSync(openDirectory, 0o777);
  t.throws(() => findPrivateBpftrace({ MEMTRACE_BPFTRACE_ROOT: openDirectory }), {
    instanceOf: TracerError,
    message: /writable by other users/,
  });

  const linked = rootWithWrapper();
  writeFileSync(join(temporary.dir, 'elsewhere'), '#!/bin/sh\n', { mode: 0o755 });
  execFileSync('rm', [join(linked, 'bpftrace')]);
  symlinkSync(join(temporary.dir, 'elsewhere'), join(linked, 'bpftrace'));
  t.throws(() => findPrivateBpftrace({ MEMTRACE_BPFTRACE_ROOT: linked }), {
    instanceOf: TracerError,
    message: /is not a file \(a symbolic link\)/,
  });

  // A directory with a bpftrace but no marker (built by hand, or by test/compat/build-root.sh) is not memtrace's.
  const unmarked = join(temporary.dir, 'unmarked');
  mkdirSync(unmarked, { mode: 0o755 });
  writeFileSync(join(unmarked, 'bpftrace'), '#!/bin/sh\n', { mode: 0o755 });
  t.throws(() => findPrivateBpftrace({ MEMTRACE_BPFTRACE_ROOT: unmarked }), {
    instanceOf: TracerError,
    message: /\.memtrace-bpftrace-root is missing/,
  });
});
