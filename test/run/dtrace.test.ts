// The DTrace runner's own decisions, without dtrace: the -c string, and what each failure means.
// The session itself is tested end to end through a fake dtrace (test/cli/cli-dtrace-malloc.test.ts).
import test from 'ava';
import { TargetError, TracerError, UsageError } from '../../src/errors.js';
import { describeDtraceFailure, dtraceCommandString, processAlive } from '../../src/run/dtrace.js';

test('the -c string joins the command and arguments with spaces', (t) => {
  t.is(dtraceCommandString(['./prog', '--size=4k', "it's;$(id)"]), "./prog --size=4k it's;$(id)");
});

test('an argument with white space is refused, not quoted', (t) => {
  for (const part of ['two words', 'tab\there', 'new\nline', '']) {
    t.throws(() => dtraceCommandString(['./prog', part]), {
      instanceOf: UsageError,
      message: /dtrace -c splits the command on white space/,
    });
  }
  t.throws(() => dtraceCommandString([]), { instanceOf: UsageError, message: /no command to launch/ });
});

const exit = { code: 1, signal: null };

test('privileges: exit 77 and sudo', (t) => {
  const error = describeDtraceFailure(
    '/usr/sbin/dtrace',
    exit,
    ['dtrace: failed to initialize dtrace: DTrace requires additional privileges'],
    { kind: 'attach', pid: process.pid },
    false,
  );
  t.true(error instanceof TracerError);
  t.is((error as TracerError).exitCode, 77);
  t.is(error.message, 'DTrace requires additional privileges: re-run with sudo');
});

test('SIP: what to run from Recovery', (t) => {
  const error = describeDtraceFailure(
    '/usr/sbin/dtrace',
    exit,
    [
      'dtrace: system integrity protection is on, some features will not be available',
      'dtrace: failed to grab pid 42: Operation not permitted',
    ],
    { kind: 'attach', pid: process.pid },
  );
  t.is((error as TracerError).exitCode, 77);
  t.regex(
    error.message,
    /^dtrace \(\/usr\/sbin\/dtrace\) exited with code 1 before tracing started:\ndtrace: system integrity protection is on/,
  );
  t.regex(error.message, /restart into Recovery .* run "csrutil enable --without dtrace", and restart/);
});

test('a pid dtrace cannot find is the target missing, not a tracer failure', (t) => {
  const error = describeDtraceFailure('/usr/sbin/dtrace', exit, ['dtrace: failed to grab pid 4194303: No such process'], {
    kind: 'attach',
    pid: 4_194_303,
  });
  t.true(error instanceof TargetError);
  t.is(error.message, 'no process with PID 4194303 (it may have exited)');
});

test('anything else: the exit and what dtrace said', (t) => {
  const error = describeDtraceFailure(
    '/usr/sbin/dtrace',
    { code: null, signal: 'SIGKILL' },
    ['dtrace: failed to compile script program.d: line 3: syntax error near "}"'],
    { kind: 'launch', command: ['./prog'] },
  );
  t.true(error instanceof TracerError);
  t.is(
    error.message,
    'dtrace (/usr/sbin/dtrace) was killed by SIGKILL before tracing started:\ndtrace: failed to compile script program.d: line 3: syntax error near "}"',
  );
});

test('a process is alive by kill(pid, 0)', (t) => {
  t.true(processAlive(process.pid));
  t.false(processAlive(4_194_303));
});

test('a kernel without DTrace', (t) => {
  const error = describeDtraceFailure(
    '/usr/sbin/dtrace',
    exit,
    ['dtrace: failed to initialize dtrace: DTrace device not available on system'],
    { kind: 'attach', pid: process.pid },
  );
  t.is(error.message, 'DTrace device not available on system: this kernel has no DTrace (on Linux use memtrace-bpf)');
});

test('as root, "requires additional privileges" under SIP is SIP refusing: what to run from Recovery', (t) => {
  const stderr = [
    'dtrace: system integrity protection is on, some features will not be available',
    'dtrace: failed to initialize dtrace: DTrace requires additional privileges',
  ];
  t.regex(
    describeDtraceFailure('/usr/sbin/dtrace', exit, stderr, { kind: 'attach', pid: process.pid }, true).message,
    /csrutil enable --without dtrace/,
  );
  // Not root, the same lines mean sudo first.
  t.is(
    describeDtraceFailure('/usr/sbin/dtrace', exit, stderr, { kind: 'attach', pid: process.pid }, false).message,
    'DTrace requires additional privileges: re-run with sudo',
  );
});
