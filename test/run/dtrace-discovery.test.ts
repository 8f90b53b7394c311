// Which dtrace memtrace finds, in which order, and what it knows of it; the D library directory the
// private root's dtrace gets (its trial, without dtrace); and which uprobe_events entries belong to a
// dtrace. The real DTrace for Linux runs in test/dtrace-live/.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { TracerError } from '../../src/errors.js';
import { dtraceKind, findDtrace, parseDtraceVersion } from '../../src/run/dtrace.js';
import { failingLibraryFile, MAX_LEFT_OUT, prepareDtraceLibdir, prepareLeanLibdir } from '../../src/run/dtrace-libdir.js';
import { dtraceUprobeEntries } from '../../src/run/dtrace-linux.js';
import { DTRACE_LEAN_ENV, renderDtraceWrapper } from '../../src/run/private-bpftrace.js';
import { makeFakeRoot } from '../helpers/private-root.js';
import { makeTemporaryDirectory } from '../symbols/helpers.js';

const temporary = makeTemporaryDirectory('dtrace-discovery');
test.after.always(() => temporary.cleanup());

function fakeDtrace(dir: string, says: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'dtrace'), `#!/bin/sh\necho "dtrace: ${says}"\n`, { mode: 0o755 });
  return join(dir, 'dtrace');
}

const onPath = fakeDtrace(join(temporary.dir, 'path'), 'Sun D 1.13');
const given = fakeDtrace(join(temporary.dir, 'given'), 'Sun D 1.13');
const fromEnv = fakeDtrace(join(temporary.dir, 'env'), 'Sun D 1.13');
const root = join(temporary.dir, 'root');
mkdirSync(root, { mode: 0o755 });
makeFakeRoot(root, { packages: ['bpftrace', 'dtrace'] });
const privateDtrace = fakeDtrace(root, 'D 2.0.7');
const bpftraceOnly = join(temporary.dir, 'bpftrace only');
mkdirSync(bpftraceOnly, { mode: 0o755 });
makeFakeRoot(bpftraceOnly);

test('discovery order: --tracer-path, $MEMTRACE_DTRACE, the private root, PATH', async (t) => {
  const env = { PATH: join(temporary.dir, 'path'), MEMTRACE_BPFTRACE_ROOT: root };
  t.is((await findDtrace({ path: given, env: { ...env, MEMTRACE_DTRACE: fromEnv } })).path, given);
  t.is((await findDtrace({ env: { ...env, MEMTRACE_DTRACE: fromEnv } })).path, fromEnv);
  t.deepEqual(await findDtrace({ env }), { path: privateDtrace, version: 'D 2.0.7', kind: 'linux' });
  t.deepEqual(await findDtrace({ env: { ...env, MEMTRACE_BPFTRACE_ROOT: '' } }), { path: onPath, version: 'Sun D 1.13', kind: 'sun' });
  // A root set up without --include-dtrace has no DIR/dtrace: PATH is next.
  t.is((await findDtrace({ env: { ...env, MEMTRACE_BPFTRACE_ROOT: bpftraceOnly } })).path, onPath);
});

test('not found: on Linux the error says how to install DTrace for Linux', async (t) => {
  const env = { PATH: join(temporary.dir, 'nowhere'), MEMTRACE_BPFTRACE_ROOT: join(temporary.dir, 'no root') };
  // /usr/sbin/dtrace is the last place looked: where one exists this test has nothing to show.
  if (lstatOrNull('/usr/sbin/dtrace')) return t.pass('this machine has /usr/sbin/dtrace');
  await t.throwsAsync(findDtrace({ env, platform: 'linux' }), {
    instanceOf: TracerError,
    message: `dtrace not found in PATH or at /usr/sbin/dtrace or in memtrace's private root ${join(temporary.dir, 'no root')}: on Linux, run "sudo memtrace setup-bpftrace --include-dtrace" to install DTrace for Linux for memtrace (or use memtrace-bpf), or pass --tracer-path`,
  });
  await t.throwsAsync(findDtrace({ env, platform: 'darwin' }), {
    message:
      'dtrace not found in PATH or at /usr/sbin/dtrace: memtrace-dtrace needs macOS (or another system with DTrace), or pass --tracer-path',
  });
});

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

test('dtrace -V: DTrace for Linux says "D 2.0.7", macOS "Sun D 1.13"', (t) => {
  t.is(parseDtraceVersion('dtrace: D 2.0.7\n'), 'D 2.0.7');
  t.is(parseDtraceVersion('dtrace: Sun D 1.13\n'), 'Sun D 1.13');
  t.is(parseDtraceVersion('dtrace: usage'), null);
  t.is(dtraceKind('D 2.0.7'), 'linux');
  t.is(dtraceKind('Sun D 1.13'), 'sun');
  t.is(dtraceKind(null), null);
});

test("the dtrace wrapper passes -x libdir= before the caller's arguments", (t) => {
  const lines = renderDtraceWrapper(
    '/var/lib/memtrace/bpftrace-root',
    '/var/lib/memtrace/bpftrace-root/.memtrace-dtrace-libdir',
    'x64',
  ).split('\n');
  t.deepEqual(lines.slice(-3), [
    "libdir='/var/lib/memtrace/bpftrace-root/.memtrace-dtrace-libdir'",
    "exec '/var/lib/memtrace/bpftrace-root/lib64/ld-linux-x86-64.so.2' --library-path '/var/lib/memtrace/bpftrace-root/lib/x86_64-linux-gnu:/var/lib/memtrace/bpftrace-root/usr/lib/x86_64-linux-gnu' '/var/lib/memtrace/bpftrace-root/usr/sbin/dtrace' '-x' \"libdir=$libdir\" \"$@\"",
    '',
  ]);
});

/** A root whose "loader" is a script printing what it was given: runs the wrapper as sh does. */
function runWrapper(libdir: string, lean: string | null, env: Record<string, string>): string[] {
  const dir = join(temporary.dir, "wrapper's root");
  mkdirSync(join(dir, 'lib64'), { recursive: true });
  writeFileSync(join(dir, 'lib64/ld-linux-x86-64.so.2'), '#!/bin/sh\nprintf \'%s\\n\' "$@"\n', { mode: 0o755 });
  writeFileSync(join(dir, 'dtrace'), renderDtraceWrapper(dir, libdir, 'x64', lean), { mode: 0o755 });
  return execFileSync(join(dir, 'dtrace'), ['-q', '-n', 'BEGIN { exit(0); }'], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .slice(-5);
}

test("the wrapper gives the lean libdir to memtrace's runs only (DTRACE_LEAN_ENV), and the whole one to everyone else", (t) => {
  const whole = "/r/.memtrace-dtrace-libdir 'quoted' $HOME";
  const lean = "/r/.memtrace-dtrace-libdir-lean 'quoted' $HOME";
  t.deepEqual(runWrapper(whole, lean, {}), ['-x', `libdir=${whole}`, '-q', '-n', 'BEGIN { exit(0); }']);
  t.deepEqual(runWrapper(whole, lean, { ...DTRACE_LEAN_ENV }), ['-x', `libdir=${lean}`, '-q', '-n', 'BEGIN { exit(0); }']);
  t.deepEqual(runWrapper(whole, lean, { MEMTRACE_DTRACE_LIBS: 'other' }), ['-x', `libdir=${whole}`, '-q', '-n', 'BEGIN { exit(0); }']);
  // A root whose dtrace did not run with the lean libdir: the wrapper has no choice to make.
  t.deepEqual(runWrapper(whole, null, { ...DTRACE_LEAN_ENV }), ['-x', `libdir=${whole}`, '-q', '-n', 'BEGIN { exit(0); }']);
});

// What DTrace for Linux 2.0.7 printed here, on a kernel without CONFIG_KALLSYMS_ALL.
const MAJOR_NAMES = (libdir: string) =>
  `dtrace: invalid probe specifier BEGIN { exit(0); }: "${libdir}/6.10/io.d", line 134: failed to resolve vmlinux\`major_names: Unknown symbol name`;

test("the failing library file is read from dtrace's message, under either libdir, and nothing else", (t) => {
  t.is(failingLibraryFile(MAJOR_NAMES('/r/usr/lib/x86_64-linux-gnu/dtrace'), ['/m', '/r/usr/lib/x86_64-linux-gnu/dtrace']), '6.10/io.d');
  t.is(failingLibraryFile(MAJOR_NAMES('/m'), ['/m', '/r/usr/lib/x86_64-linux-gnu/dtrace']), '6.10/io.d');
  // A file outside both (a user's -s script) is never one to leave out.
  t.is(failingLibraryFile(MAJOR_NAMES('/home/me'), ['/m', '/r']), null);
  t.is(failingLibraryFile('dtrace: could not enable tracing: Failed to enable dtrace:::BEGIN: No such file or directory', ['/m']), null);
});

function rootLibdir(name: string): string {
  const dir = join(temporary.dir, name);
  for (const version of ['6.1', '6.10']) {
    mkdirSync(join(dir, version), { recursive: true });
    for (const file of ['io.d', 'sched.d']) writeFileSync(join(dir, version, file), `/* ${version}/${file} */\n`);
  }
  mkdirSync(join(dir, 'include/sys'), { recursive: true });
  writeFileSync(join(dir, 'include/sys/sdt.h'), '');
  return dir;
}

test("the libdir is the root's, as links, less each file that fails, found one run at a time", async (t) => {
  const from = rootLibdir('libdir-a');
  const libdir = join(temporary.dir, 'prepared-a');
  const failing = ['6.10/io.d', '6.1/io.d'];
  let runs = 0;
  const leftOut = await prepareDtraceLibdir({
    rootLibdir: from,
    libdir,
    trial: async () => {
      runs += 1;
      const present = failing.find((file) => lstatOrNull(join(libdir, file)) !== null);
      return present === undefined ? { ok: true, output: '' } : { ok: false, output: MAJOR_NAMES(libdir).replace('6.10/io.d', present) };
    },
  });
  t.deepEqual(leftOut, ['6.10/io.d', '6.1/io.d']);
  t.is(runs, 3);
  t.deepEqual(readdirSync(join(libdir, '6.10')), ['sched.d']);
  t.is(readlinkSync(join(libdir, '6.10/sched.d')), join(from, '6.10/sched.d'));
  t.is(readlinkSync(join(libdir, 'include/sys/sdt.h')), join(from, 'include/sys/sdt.h'));
  t.true(lstatSync(join(from, '6.10/io.d')).isFile(), "the root's own files stay");
});

test("a failure that is not a library file, the same file again, or too many: an error with dtrace's words", async (t) => {
  const from = rootLibdir('libdir-b');
  const libdir = join(temporary.dir, 'prepared-b');
  await t.throwsAsync(
    prepareDtraceLibdir({
      rootLibdir: from,
      libdir,
      trial: async () => ({
        ok: false,
        output: 'dtrace: could not enable tracing: Failed to enable dtrace:::BEGIN: No such file or directory',
      }),
    }),
    {
      instanceOf: TracerError,
      message: /^the dtrace of the private root does not run "BEGIN \{ exit\(0\); \}":\n {2}dtrace: could not enable tracing/,
    },
  );
  let runs = 0;
  await t.throwsAsync(
    prepareDtraceLibdir({
      rootLibdir: from,
      libdir,
      trial: async () => ({ ok: false, output: runs++ === 0 ? MAJOR_NAMES(libdir) : MAJOR_NAMES(from) }),
    }),
    {
      message: /does not run "BEGIN \{ exit\(0\); \}" \(even without 6\.10\/io\.d\)/,
    },
  );
  // A file dtrace names that the libdir does not hold is not one leaving out can help.
  await t.throwsAsync(
    prepareDtraceLibdir({
      rootLibdir: from,
      libdir,
      trial: async () => ({ ok: false, output: MAJOR_NAMES(libdir).replace('6.10/io.d', '7.0/io.d') }),
    }),
    {
      message: /does not run "BEGIN \{ exit\(0\); \}":\n.*7\.0\/io\.d/,
    },
  );
  for (let i = 0; i <= MAX_LEFT_OUT; i++) writeFileSync(join(from, `${i}.d`), '');
  let n = 0;
  await t.throwsAsync(
    prepareDtraceLibdir({
      rootLibdir: from,
      libdir,
      trial: async () => ({ ok: false, output: MAJOR_NAMES(libdir).replace('6.10/io.d', `${n++}.d`) }),
    }),
    {
      message: new RegExp(`fails on more than ${MAX_LEFT_OUT} of its D library files`),
    },
  );
});

test("the lean libdir: the prepared one's links without a D library file; none when dtrace does not run with it", async (t) => {
  const from = rootLibdir('libdir-lean');
  writeFileSync(join(from, 'bpf_dlib.o'), '');
  const libdir = join(temporary.dir, 'prepared-lean');
  await prepareDtraceLibdir({ rootLibdir: from, libdir, trial: async () => ({ ok: true, output: '' }) });
  const lean = join(temporary.dir, 'lean');
  let ran = 0;
  const leftOut = await prepareLeanLibdir({
    libdir,
    leanLibdir: lean,
    trial: async () => {
      ran += 1;
      // The trial runs with the lean libdir in place.
      t.true(existsSync(join(lean, 'bpf_dlib.o')));
      return { ok: true, output: '' };
    },
  });
  t.is(ran, 1);
  t.deepEqual(leftOut, ['6.1/io.d', '6.1/sched.d', '6.10/io.d', '6.10/sched.d']);
  t.deepEqual(readdirSync(join(lean, '6.10')), []);
  t.is(readlinkSync(join(lean, 'bpf_dlib.o')), join(libdir, 'bpf_dlib.o'));
  t.is(readlinkSync(join(lean, 'include/sys/sdt.h')), join(libdir, 'include/sys/sdt.h'));
  t.true(lstatSync(join(libdir, '6.10/sched.d')).isSymbolicLink(), 'the whole libdir stays');
  t.is(await prepareLeanLibdir({ libdir, leanLibdir: lean, trial: async () => ({ ok: false, output: 'dtrace: failed' }) }), null);
  t.false(existsSync(lean), 'a lean libdir dtrace does not run with is removed');
});

test("the uprobe_events entries of one dtrace, by the pid in their group, and no one else's", (t) => {
  const events = [
    'p:dt_14439_dtrace/BEGIN /r/usr/lib/x86_64-linux-gnu/libdtrace.so.2.0.0:0x00000000000ded20',
    'p:dt_14439_dtrace/END /r/usr/lib/x86_64-linux-gnu/libdtrace.so.2.0.0:0x00000000000ded30',
    'r:dt_14439_pid_malloc/r_1 /usr/lib/x86_64-linux-gnu/libc.so.6:0x0000000000099aa0',
    'p:dt_144390_dtrace/BEGIN /r/usr/lib/x86_64-linux-gnu/libdtrace.so.2.0.0:0x00000000000ded20',
    'p:uprobes/p_bpftrace_14439 /usr/lib/x86_64-linux-gnu/libc.so.6:0x0000000000099aa0',
    '',
  ].join('\n');
  t.deepEqual(dtraceUprobeEntries(events, 14439), ['dt_14439_dtrace/BEGIN', 'dt_14439_dtrace/END', 'dt_14439_pid_malloc/r_1']);
  t.deepEqual(dtraceUprobeEntries(events, 1443), []);
});
