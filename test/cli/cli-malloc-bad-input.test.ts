// memtrace-bpf malloc refuses what it cannot do with a message that says what to do, before anything
// is started, and with an exit code scripts can tell apart.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { liveTest } from '../helpers/live.js';
import { MEMTRACE_BPF, memtrace } from '../helpers/cli.js';
import { buildWorkload } from '../helpers/workloads.js';
import { fakeBpftrace } from '../helpers/fake-bpftrace.js';

function directory(): string {
  return mkdtempSync(join(tmpdir(), 'memtrace-test-'));
}

const usage = test.macro(async (t, args: string[], message: RegExp) => {
  const result = await memtrace(['malloc', ...args]);
  t.is(result.exitCode, 2, `${result.stderr}`);
  t.regex(`${result.stderr}`, message);
  t.is(`${result.stdout}`, '');
});

test('no target', usage, [], /nothing to trace: give -p PID or -- COMMAND/);
test('both -p and a command', usage, ['-p', '1', '--', 'true'], /either -p PID or -- COMMAND, not both/);
test('a pid that is not a number', usage, ['-p', '12abc'], /--pid: expected a whole number/);
test('an unknown option', usage, ['--frobnicate', '-p', '1'], /Unknown option '--frobnicate'/);
test('a sample of zero', usage, ['--sample', '0', '-p', '1'], /--sample: expected a whole number from 1/);
test('a stack depth too deep', usage, ['--stack-depth', '65', '-p', '1'], /--stack-depth: expected a whole number from 1 to 64/);
test(
  'an output in a directory that does not exist',
  usage,
  ['-o', '/nonexistent/dir/report.json', '-p', '1'],
  /cannot write \/nonexistent\/dir\/report.json/,
);
test('an output with an unknown extension', usage, ['-o', 'report.xyz', '-p', '1'], /report\.xyz/);
test('a library path with a colon', usage, ['--lib', '/lib/libc.so.6:malloc', '-p', '1'], /--lib: expected an absolute path/);
test(
  'an unknown allocator',
  usage,
  ['--allocator', 'hoard', '-p', '1'],
  /--allocator: expected one of glibc, jemalloc, tcmalloc, mimalloc/,
);
test(
  'an unknown --value',
  usage,
  ['--value', 'bogus', '-p', '1'],
  /--value: expected one of allocs, allocBytes, outstanding, outstandingBytes, got "bogus"/,
);
test(
  'min-size above max-size',
  usage,
  ['--min-size', '10', '--max-size', '5', '--print-script', '-p', String(process.pid)],
  /--min-size \(10\) is larger than --max-size \(5\)/,
);

test('--help prints the usage and exits 0', async (t) => {
  const result = await memtrace(['malloc', '--help']);
  t.is(result.exitCode, 0);
  t.regex(`${result.stdout}`, /^Usage: memtrace-bpf malloc \[options\] -p PID/);
});

liveTest('not root: a clear message, exit 77', async (t) => {
  const result = await execa(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MEMTRACE_BPF, 'malloc', '-p', '1'],
    { reject: false },
  );
  t.is(result.exitCode, 77, `${result.stderr}`);
  t.regex(`${result.stderr}`, /needs root: re-run with sudo/);
});

liveTest('bpftrace missing from PATH', async (t) => {
  const result = await memtrace(['malloc', '-p', '1'], { env: { PATH: directory(), MEMTRACE_BPFTRACE_ROOT: '' }, extendEnv: false });
  t.is(result.exitCode, 4, `${result.stderr}`);
  t.regex(`${result.stderr}`, /bpftrace not found in PATH: install it \(Debian\/Ubuntu: sudo apt-get install bpftrace\)/);
});

liveTest('bpftrace too old', async (t) => {
  const result = await memtrace(['malloc', '--tracer-path', fakeBpftrace({ version: 'bpftrace v0.9.4' }), '-p', '1']);
  t.is(result.exitCode, 4);
  t.regex(`${result.stderr}`, /bpftrace 0\.9\.4 at .* is too old: memtrace needs 0\.17 or later/);
});

liveTest('bpftrace failing at start: its error is shown, and the command never ran', async (t) => {
  const marker = join(directory(), 'ran');
  const result = await memtrace([
    'malloc',
    '--tracer-path',
    fakeBpftrace({ mode: 'fail', error: 'ERROR: something broke' }),
    '--',
    '/usr/bin/touch',
    marker,
  ]);
  t.is(result.exitCode, 4, `${result.stderr}`);
  t.regex(`${result.stderr}`, /bpftrace \(.*\) exited with code 1 before tracing started:\nERROR: something broke/);
  t.false(existsSync(marker));
});

liveTest('a PID that does not exist', async (t) => {
  const result = await memtrace(['malloc', '-p', '4194000']);
  t.is(result.exitCode, 5);
  t.regex(`${result.stderr}`, /no process with PID 4194000/);
});

liveTest('a command that does not exist', async (t) => {
  const result = await memtrace(['malloc', '--', '/nonexistent/program']);
  t.is(result.exitCode, 127);
  t.regex(`${result.stderr}`, /cannot run \/nonexistent\/program: no such executable file/);
});

liveTest('a command not in PATH', async (t) => {
  const result = await memtrace(['malloc', '--', 'no-such-command-memtrace']);
  t.is(result.exitCode, 127);
  t.regex(`${result.stderr}`, /cannot run no-such-command-memtrace: command not found in PATH/);
});

liveTest('--print-script prints the program with the pid literal and exits', async (t) => {
  const target = execa(buildWorkload('known-allocs'), ['--wait'], { reject: false });
  const pid = target.pid!;
  const result = await memtrace(['malloc', '--print-script', '-p', String(pid)]);
  target.kill('SIGKILL');
  await target;
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stdout}`, new RegExp(`^uprobe:/usr/lib/x86_64-linux-gnu/libc\\.so\\.6:malloc\\n/pid == ${pid}/`, 'm'));
  // What memtrace chose for this bpftrace heads the program: where free is probed, where uprobes trap.
  const offsets = /^\/\/ {3}offset uprobes: yes$/m.test(`${result.stdout}`);
  t.regex(
    `${result.stdout}`,
    offsets
      ? /^\/\/ memtrace: free probed at free\+9, past its NULL test/m
      : /^\/\/ memtrace: free probed at its entry \(this bpftrace has no offset uprobes\)/m,
  );
  t.regex(`${result.stdout}`, offsets ? /^uprobe:[^\n]*:free\+9$/m : /^uprobe:[^\n]*:free$/m);
});
