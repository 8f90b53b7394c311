// scripts/as-root, which the README's two set-up commands go through for every step that needs root:
// as root it runs the command itself and never calls sudo (a machine or container without sudo); as
// another user it goes through sudo, passing the caller's PATH on (a node from a version manager).
// The fake sudo of test/fixtures/sudo/fake logs what it was asked to run.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { gated, ROOT_PROBLEM } from '../helpers/gate.js';
import { execa } from 'execa';
import { asUnprivileged, installFakeSudo, readableTemporaryDirectory } from '../helpers/fake-sudo.js';
import { ROOT } from '../helpers/workloads.js';

// Copies in a directory every user can read: the clone CI runs in may be closed to nobody.
const scratch = readableTemporaryDirectory('memtrace-as-root-');
const AS_ROOT = join(scratch, 'as-root');
copyFileSync(`${ROOT}scripts/as-root`, AS_ROOT);
/** A PATH with sudo (the fake one) and the usual tools. */
const PATH_WITH_SUDO = `${installFakeSudo(scratch)}:/usr/bin:/bin`;
/** A PATH with no sudo on it at all: only `id`, which as-root asks. */
mkdirSync(join(scratch, 'bare-bin'), { mode: 0o755 });
symlinkSync('/usr/bin/id', join(scratch, 'bare-bin', 'id'));
const PATH_WITHOUT_SUDO = `${scratch}/bare-bin`;

test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

/** A command that shows its arguments arrived whole, and its user, and ends with its own exit status. */
const PROBE = ['/bin/sh', '-c', 'echo "$1|$2|uid $(id -u)"; exit 5', 'probe', 'a b', 'c'];
/** The fake sudo does not change user: the command runs as whoever called it. */
const CALLER_UID = process.getuid?.() === 0 ? 65534 : process.getuid?.();

let logs = 0;
function sudoLog(): string {
  const file = join(scratch, `sudo-${++logs}.log`);
  writeFileSync(file, '');
  chmodSync(file, 0o666);
  return file;
}

function asRoot(args: string[], env: Record<string, string>, unprivileged = false) {
  const [command, commandArgs] = unprivileged ? asUnprivileged('/bin/sh', [AS_ROOT, ...args]) : ['/bin/sh', [AS_ROOT, ...args]];
  return execa(command, commandArgs, { reject: false, env, extendEnv: false, timeout: 30_000 });
}

const rootTest = gated(ROOT_PROBLEM, { base: test });

rootTest('root: runs the command itself, arguments and exit status kept, and never calls sudo', async (t) => {
  const log = sudoLog();
  const result = await asRoot(PROBE, { PATH: PATH_WITH_SUDO, FAKE_SUDO_LOG: log });
  t.is(result.exitCode, 5, result.stderr);
  t.is(result.stdout, 'a b|c|uid 0');
  t.is(readFileSync(log, 'utf8'), '', 'sudo was called');
});

rootTest('root on a machine without sudo: runs the command', async (t) => {
  const result = await asRoot(PROBE, { PATH: PATH_WITHOUT_SUDO });
  t.is(result.exitCode, 5, result.stderr);
  t.is(result.stdout, 'a b|c|uid 0');
  t.is(result.stderr, '');
});

test("another user with sudo: the command goes through sudo with the caller's PATH, exit status kept", async (t) => {
  const log = sudoLog();
  const result = await asRoot(PROBE, { PATH: PATH_WITH_SUDO, FAKE_SUDO_LOG: log }, true);
  t.is(result.exitCode, 5, result.stderr);
  t.is(result.stdout, `a b|c|uid ${CALLER_UID}`);
  t.deepEqual(readFileSync(log, 'utf8').split('\n'), ['env', `PATH=${PATH_WITH_SUDO}`, ...PROBE, '--', '']);
});

test('another user without sudo: exit 77 and what to do', async (t) => {
  const result = await asRoot(PROBE, { PATH: PATH_WITHOUT_SUDO }, true);
  t.is(result.exitCode, 77);
  t.is(result.stdout, '');
  t.is(result.stderr, 'as-root: "/bin/sh" needs root, and sudo is not installed: run this line as root (su -), or install sudo');
});

test('no command: exit 2 and an example', async (t) => {
  const result = await asRoot([], { PATH: PATH_WITH_SUDO });
  t.is(result.exitCode, 2);
  t.is(result.stderr, 'as-root: expected a command to run as root, e.g. sh scripts/as-root apt-get update');
});

/** The commands of the README's "Set up" section, one a code block. */
function readmeSetUpCommands(): string[] {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Set up\n'), readme.indexOf('\n## ', readme.indexOf('\n## Set up\n') + 1));
  return [...section.matchAll(/^```\n(.*)\n```$/gm)].map((match) => match[1]!);
}

test("the README's two set-up commands reach root only through scripts/as-root", (t) => {
  const commands = readmeSetUpCommands();
  t.is(commands.length, 2, 'expected two commands in the README\'s "Set up"');
  for (const command of commands) t.notRegex(command, /\bsudo\b/, command);
  const steps = commands.flatMap((command) => command.split('&&').map((step) => step.trim()));
  const needRoot = steps.filter((step) => /^(sh scripts\/as-root )?(apt-get|npm test)\b/.test(step));
  t.deepEqual(
    needRoot.map((step) => step.split(' ').slice(0, 4).join(' ')),
    ['sh scripts/as-root apt-get update', 'sh scripts/as-root apt-get install', 'sh scripts/as-root npm test'],
  );
});

test(".ci/run runs the README's test command as written", (t) => {
  const testCommand = readmeSetUpCommands()[1]!;
  // Environment assignments before the command are CI's own settings (MEMTRACE_COMPAT_EXPECT=).
  const lines = readFileSync(`${ROOT}.ci/run`, 'utf8')
    .split('\n')
    .map((line) => line.replace(/^(\w+=\S* )+/, ''));
  t.true(lines.includes(testCommand), `.ci/run has no line running "${testCommand}"`);
});
