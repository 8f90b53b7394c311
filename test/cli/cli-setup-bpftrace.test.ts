// `memtrace setup-bpftrace`: help, refusals and the reuse of an existing root run without the
// network against fake roots in a temporary directory (root only: the command needs it). The real
// debootstrap (~45 s, ~570 MB) runs only with MEMTRACE_TEST_SETUP_ROOT=1; CI's third leg builds its
// bpftrace 0.27 root with the command anyway (.ci/run).
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { gated, ROOT_PROBLEM } from '../helpers/gate.js';
import { execa } from 'execa';
import { countProgress } from '../../src/run/build-private-bpftrace.js';
import { MEMTRACE_BPF, memtrace } from '../helpers/cli.js';
import { makeFakeRoot } from '../helpers/private-root.js';
import { makeTemporaryDirectory } from '../symbols/helpers.js';

const temporary = makeTemporaryDirectory('setup-bpftrace');
test.after.always(() => temporary.cleanup());
let count = 0;
const fresh = (name = 'root') => join(temporary.dir, `${name}-${count++}`);
/**
 * Discovery and the command's default directory never see /var/lib in these tests, and a bpftrace
 * named by a compat leg's MEMTRACE_BPFTRACE does not hide the private one.
 */
const env = { MEMTRACE_BPFTRACE_ROOT: join(temporary.dir, 'default-root'), MEMTRACE_BPFTRACE: undefined };

const rootTest = gated(ROOT_PROBLEM);

test('--help says what it installs, where, the cost and how to remove it', async (t) => {
  const result = await memtrace(['setup-bpftrace', '--help']);
  t.is(result.exitCode, 0);
  t.regex(result.stdout, /Usage: memtrace setup-bpftrace \[--dir DIR\] \[--suite NAME\] \[--include-dtrace\] \[--rebuild\]/);
  t.regex(result.stdout, /\/var\/lib\/memtrace\/bpftrace-root/);
  t.regex(result.stdout, /rm -rf DIR/);
  const usage = await memtrace(['--help']);
  t.regex(usage.stdout, /setup-bpftrace +install a newer bpftrace/);
});

test('usage errors: a stray argument, a bad suite or mirror', async (t) => {
  for (const [args, message] of [
    [['extra'], /unexpected argument "extra"/],
    [['--suite', 'forky; rm'], /--suite: expected a Debian suite name/],
    [['--mirror', 'not a url'], /--mirror: expected a URL/],
  ] as const) {
    const result = await memtrace(['setup-bpftrace', ...args], { env });
    t.is(result.exitCode, 2, `${args.join(' ')}: ${result.stderr}`);
    t.regex(result.stderr, message);
  }
});

rootTest('not root: exit 77 and sudo', async (t) => {
  const result = await execa(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MEMTRACE_BPF, 'setup-bpftrace', '--dir', fresh()],
    { reject: false, env },
  );
  t.is(result.exitCode, 77, result.stderr);
  t.regex(result.stderr, /installs a Debian root in .* with debootstrap, which needs root: re-run with sudo/);
});

/** Runs the command on `dir` and expects a refusal (exit 2) whose message matches. */
async function refuses(t: import('ava').ExecutionContext, dir: string, message: RegExp, extra: string[] = []) {
  const result = await memtrace(['setup-bpftrace', '--dir', dir, ...extra], { env });
  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, message);
}

rootTest('a DIR memtrace did not make is refused, and left as it was', async (t) => {
  const target = fresh('target');
  mkdirSync(target);
  const link = fresh('link');
  symlinkSync(target, link);
  await refuses(t, link, /is a symbolic link: give the directory itself/);

  const file = fresh('file');
  writeFileSync(file, 'mine\n');
  await refuses(t, file, /exists and is not a directory/);
  t.is(readFileSync(file, 'utf8'), 'mine\n');

  const someoneElses = fresh('etc');
  mkdirSync(someoneElses);
  writeFileSync(join(someoneElses, 'passwd'), 'mine\n');
  await refuses(
    t,
    someoneElses,
    /was not made by memtrace setup-bpftrace \(no \.memtrace-bpftrace-root in it\): remove it or choose another directory/,
  );
  t.is(readFileSync(join(someoneElses, 'passwd'), 'utf8'), 'mine\n');

  const open = fresh('open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await refuses(t, open, /writable by other users/);

  await refuses(t, `${fresh()}:x`, /a character the loader's library path cannot carry/);
  await refuses(t, fresh('with space'), /debootstrap cannot build into a path with white space/);
});

rootTest('an existing root is reused: the wrapper is written again, never through a planted symlink', async (t) => {
  const dir = fresh();
  mkdirSync(dir, { mode: 0o755 });
  makeFakeRoot(dir);
  const victim = join(temporary.dir, 'victim');
  writeFileSync(victim, 'untouched\n');
  symlinkSync(victim, join(dir, 'bpftrace'));
  const result = await memtrace(['setup-bpftrace', '--dir', dir], { env });
  t.is(result.exitCode, 0, result.stderr);
  t.is(readFileSync(victim, 'utf8'), 'untouched\n');
  t.true(lstatSync(join(dir, 'bpftrace')).isFile());
  t.is(lstatSync(join(dir, 'bpftrace')).mode & 0o777, 0o755);
  const lines = result.stdout.split('\n');
  t.is(lines[0], `bpftrace 0.27.0 already set up in ${dir}`);
  t.true(lines.includes(`  run it as:      ${dir}/bpftrace`), result.stdout);
  t.regex(result.stdout, /DWARF stacks: {3}yes \(dw_ustack/);
  t.regex(result.stdout, /disk used: {6}\d/);
  t.regex(result.stdout, /time taken: .* \(the existing root was reused; --rebuild builds it again\)/);
  t.regex(result.stdout, new RegExp(`memtrace uses it with MEMTRACE_BPFTRACE_ROOT='${dir}' set`));
  t.regex(result.stdout, new RegExp(`remove it with: rm -rf '${dir}'`));
  t.is(result.stderr, '');

  // The directory discovery looks in: memtrace says it will use it from now on, and it does.
  const found = await memtrace(['setup-bpftrace'], { env: { ...env, MEMTRACE_BPFTRACE_ROOT: dir } });
  t.regex(found.stdout, /memtrace uses it from now on for every bpftrace tool/);
  const script = await memtrace(['malloc', '--print-script', '-p', String(process.pid)], { env: { ...env, MEMTRACE_BPFTRACE_ROOT: dir } });
  t.regex(script.stdout, new RegExp(`^// memtrace: written for bpftrace 0\\.27\\.0 \\(${dir}/bpftrace, from memtrace setup-bpftrace\\)`));
});

rootTest('a root of another suite or without dtrace is rebuilt only with --rebuild', async (t) => {
  const dir = fresh();
  mkdirSync(dir, { mode: 0o755 });
  makeFakeRoot(dir, { suite: 'trixie' });
  await refuses(t, dir, /holds bpftrace from Debian trixie, not bpftrace from forky: add --rebuild/);
  await refuses(t, dir, /holds bpftrace from Debian trixie, not bpftrace, dtrace from trixie: add --rebuild/, [
    '--suite',
    'trixie',
    '--include-dtrace',
  ]);
});

rootTest('no network (a mirror nothing listens on): what failed, the end of the log and its path', async (t) => {
  const dir = fresh();
  const result = await memtrace(['setup-bpftrace', '--dir', dir, '--mirror', 'http://127.0.0.1:9/debian'], { env });
  t.is(result.exitCode, 4, result.stderr);
  t.regex(
    result.stderr,
    /debootstrap could not download Debian forky from http:\/\/127\.0\.0\.1:9\/debian: is this machine offline, or is the mirror wrong\?/,
  );
  t.regex(result.stderr, new RegExp(`the whole log: ${dir}/\\.memtrace-debootstrap\\.log`));
  // The unfinished root is memtrace's: the next run starts it over instead of refusing it.
  const again = await memtrace(['setup-bpftrace', '--dir', dir, '--mirror', 'http://127.0.0.1:9/debian'], { env });
  t.is(again.exitCode, 4);
  t.regex(again.stderr, /holds an unfinished set-up: starting over/);
});

const liveSetup = gated(
  ROOT_PROBLEM ?? (process.env.MEMTRACE_TEST_SETUP_ROOT === '1' ? null : 'set MEMTRACE_TEST_SETUP_ROOT=1; ~45 s, ~570 MB'),
  { optional: true },
);
liveSetup('a real set-up with debootstrap: bpftrace 0.26 or later that unwinds with DWARF, then reused', async (t) => {
  t.timeout(600_000);
  const dir = fresh('real-root');
  try {
    const result = await memtrace(['setup-bpftrace', '--dir', dir], { env, timeout: 600_000 });
    t.is(result.exitCode, 0, `${result.stderr}\n${result.stdout}`);
    t.log(result.stdout);
    const version = /^bpftrace (\d+)\.(\d+)\.\d+ set up in /.exec(result.stdout);
    t.truthy(version, result.stdout);
    t.true(Number(version![1]) > 0 || Number(version![2]) >= 26, result.stdout);
    t.regex(result.stdout, /DWARF stacks: {3}yes/);
    t.regex(result.stderr, /memtrace: debootstrap .*: \d+ packages retrieved/);
    const info = await execa(join(dir, 'bpftrace'), ['--info'], { all: true });
    t.regex(`${info.all}`, /dwunwind.*yes/);
    const again = await memtrace(['setup-bpftrace', '--dir', dir], { env });
    t.is(again.exitCode, 0, again.stderr);
    t.regex(again.stdout, /already set up/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the status line counts debootstrap's packages once each, not its index files or phases", (t) => {
  const progress = { retrieved: 0, unpacked: 0, configured: 0, latest: '', seen: new Set<string>() };
  const log = [
    'I: Retrieving InRelease ',
    'I: Retrieving Packages ',
    'I: Validating Packages ',
    'I: Retrieving bpftrace 0.27.0-1',
    'I: Validating bpftrace 0.27.0-1',
    'I: Retrieving libc6 2.43-7',
    'I: Unpacking required packages...',
    'I: Unpacking libc6:amd64...',
    'I: Configuring required packages...',
    'I: Configuring libc-bin...',
    'W: not an information line',
    'I: Unpacking the base system...',
    'I: Unpacking bpftrace...',
    'I: Configuring libc-bin...',
    'I: Base system installed successfully.',
  ];
  for (const line of log) countProgress(progress, line);
  t.like(progress, { retrieved: 2, unpacked: 2, configured: 1, latest: 'Base system installed successfully.' });
});
