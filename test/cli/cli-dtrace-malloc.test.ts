// memtrace-dtrace malloc end to end, through a fake dtrace on PATH (test/fixtures/dtrace/fake/dtrace)
// that checks its arguments and replays output in DTrace's documented formats: no macOS here, so
// this is the whole of memtrace's side, never DTrace itself. The replayed trace holds 25
// allocations (23 × 1024 B from make_block, 2 × 640 B from make_table), 20 of them freed.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { memtraceAuto, memtraceDtrace, waitForLine } from '../helpers/cli.js';

function directory(): string {
  return mkdtempSync(join(tmpdir(), 'memtrace-test-'));
}

function checkKnownFigures(t: import('ava').ExecutionContext, profile: MallocProfile): void {
  t.deepEqual(profile.totals, { allocs: 25, frees: 25, allocBytes: 24832, failed: 1, freeNull: 3, outstanding: 5, outstandingBytes: 4352 });
  t.deepEqual(profile.functions, [
    { name: 'malloc', calls: 24, bytes: 23552, failed: 1 },
    { name: 'calloc', calls: 2, bytes: 1280, failed: 0 },
    { name: 'free', calls: 28, bytes: 0, failed: 0 },
  ]);
  t.deepEqual(
    profile.stacks.map((stack) => [
      stack.frames.map((frame) => frame.name).join(';'),
      stack.allocs,
      stack.allocBytes,
      stack.outstanding,
      stack.outstandingBytes,
    ]),
    [
      ['start;main;make_block;malloc', 23, 23552, 3, 3072],
      ['start;main;make_table;calloc', 2, 1280, 2, 1280],
    ],
  );
  t.deepEqual(
    profile.stacks[0]!.frames.map((frame) => frame.module),
    ['dyld', 'known-allocs', 'known-allocs', 'libsystem_malloc.dylib'],
  );
  t.deepEqual(profile.tracer, { name: 'dtrace', version: 'Sun D 1.13' });
  t.is(profile.losses.untrackedLiveBlocks, 0);
}

test('attach with --duration: dtrace -Z -q -s PROGRAM -p PID, the program ends itself, exact figures', async (t) => {
  const argsFile = join(directory(), 'args.json');
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '300ms', '-f', 'json'], 'replay', {
    env: { FAKE_DTRACE_ARGS: argsFile },
  });
  t.is(result.exitCode, 0, `${result.stderr}`);
  const args = JSON.parse(readFileSync(argsFile, 'utf8')) as string[];
  t.deepEqual([...args.slice(0, 3), ...args.slice(4)], ['-Z', '-q', '-s', '-p', String(process.pid)]);
  t.regex(args[3]!, /program\.d$/);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  checkKnownFigures(t, profile);
  t.false(profile.partial);
  t.deepEqual(profile.target, { pid: process.pid, command: null });
  t.regex(
    `${result.stderr}`,
    /memtrace: tracing malloc, calloc, realloc, posix_memalign, aligned_alloc, valloc, free in PID \d+ with DTrace for 0\.3 s/,
  );
});

test('launch: the command goes to dtrace -c, the program traces $target', async (t) => {
  const argsFile = join(directory(), 'args.json');
  const result = await memtraceDtrace(['malloc', '-f', 'json', '--', './known-allocs', '--blocks=23'], 'replay', {
    env: { FAKE_DTRACE_ARGS: argsFile },
  });
  t.is(result.exitCode, 0, `${result.stderr}`);
  const args = JSON.parse(readFileSync(argsFile, 'utf8')) as string[];
  t.deepEqual(args.slice(4, 6), ['-c', './known-allocs --blocks=23']);
  // The program's output comes through a FIFO; the command's own (the fake's line) stays on stdout.
  t.is(args[6], '-o');
  t.regex(args[7]!, /output$/);
  t.true(`${result.stdout}`.startsWith('fake command output\n'), `${result.stdout}`.slice(0, 80));
  const profile = JSON.parse(`${result.stdout}`.replace('fake command output\n', '')) as MallocProfile;
  checkKnownFigures(t, profile);
  t.deepEqual(profile.target, { pid: null, command: ['./known-allocs', '--blocks=23'] });
});

test('Ctrl-C: SIGINT is forwarded, dtrace prints END, the report is whole and marked interrupted', async (t) => {
  const child = memtraceDtrace(['malloc', '-p', String(process.pid), '-f', 'json']);
  await waitForLine(child.stderr!, /memtrace: tracing/);
  child.kill('SIGINT');
  const result = await child;
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  checkKnownFigures(t, profile);
  t.true(profile.partial);
  t.is(profile.partialReason, 'interrupted by SIGINT');
});

test('SIGTERM is forwarded as SIGINT too, so END prints', async (t) => {
  const child = memtraceDtrace(['malloc', '-p', String(process.pid), '-f', 'json']);
  await waitForLine(child.stderr!, /memtrace: tracing/);
  child.kill('SIGTERM');
  const result = await child;
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  checkKnownFigures(t, profile);
  t.is(profile.partialReason, 'interrupted by SIGTERM');
});

test("--duration holds even when the program's own timer does not fire: memtrace stops dtrace 2 s later", async (t) => {
  const child = memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '300ms', '-f', 'json'], 'no-tick');
  await waitForLine(child.stderr!, /memtrace: tracing/);
  // From the start of tracing: the machine's load (tests run side by side) is not the program's.
  const started = Date.now();
  const result = await child;
  const elapsed = Date.now() - started;
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  checkKnownFigures(t, profile);
  t.false(profile.partial);
  t.true(elapsed >= 2_200 && elapsed < 60_000, `${elapsed} ms`);
});

test('drop notices on stderr are counted as lost events and named in the report', async (t) => {
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '200ms', '-f', 'json'], 'drops');
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.is(profile.lostEvents, 6);
  t.is(profile.losses.lostEvents, 6);
  t.true(profile.notes.includes('dtrace dropped 4 records (principal buffer full): blocks allocated or freed then are not followed'));
  t.true(profile.notes.includes('dtrace dropped 2 dynamic variables (dynvarsize full): some blocks were not tracked'));
});

test('the table shows the drops too', async (t) => {
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '200ms'], 'drops');
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stdout}`, /^Losses: 6 lost events$/m);
  t.regex(`${result.stdout}`, /^ {2}- dtrace dropped 4 records \(principal buffer full\)/m);
});

test('--raw-out keeps what dtrace printed, drops included; memtrace report re-renders it the same', async (t) => {
  const raw = join(directory(), 'raw.txt');
  const live = await memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '200ms', '-f', 'json', '--raw-out', raw], 'drops');
  t.is(live.exitCode, 0, `${live.stderr}`);
  const again = await memtraceAuto(['report', raw, '-f', 'json']);
  t.is(again.exitCode, 0, `${again.stderr}`);
  const [first, second] = [JSON.parse(`${live.stdout}`) as MallocProfile, JSON.parse(`${again.stdout}`) as MallocProfile];
  checkKnownFigures(t, second);
  t.is(second.lostEvents, 6);
  t.deepEqual(second.stacks, first.stacks);
  t.deepEqual(second.notes, first.notes);
});

test('SIP warning only: the trace goes on and the report says SIP may have hidden probes', async (t) => {
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-d', '200ms', '-f', 'json'], 'sip-warning');
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.true(profile.notes.some((note) => note.startsWith('System Integrity Protection restricts DTrace on this Mac')));
});

test('dtrace dying mid-trace: a partial report, exit 4', async (t) => {
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-f', 'json'], 'die');
  t.is(result.exitCode, 4, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.true(profile.partial);
  t.is(profile.partialReason, 'dtrace exited with code 1: dtrace: processing aborted: Abort due to systemic unresponsiveness');
  t.is(profile.totals.allocs, 0);
});

test('dtrace killed in the middle of a line: the records before it are reported, the cut one is said to be lost', async (t) => {
  const result = await memtraceDtrace(['malloc', '-p', String(process.pid), '-f', 'json'], 'killed-mid-line');
  t.is(result.exitCode, 4, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`) as MallocProfile;
  t.true(profile.partial);
  t.is(profile.partialReason, 'dtrace was killed by SIGKILL');
  t.true(
    profile.notes.some((note) =>
      note.startsWith(`dtrace's output ended in the middle of a line, so that record is lost: "A\\t5644547984"`),
    ),
    profile.notes.join('\n'),
  );
  t.true(
    profile.stacks.some((stack) => stack.outstanding > 0),
    'the streamed records before the cut are kept',
  );
});

test("a line that is none of the program's records is counted in the report, never dropped silently", async (t) => {
  const result = await memtraceDtrace(['malloc', '-f', 'json', '--', './known-allocs'], 'garbled');
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = JSON.parse(`${result.stdout}`.replace('fake command output\n', '')) as MallocProfile;
  t.deepEqual(profile.notes, [
    "1 line of other output skipped, not records of the program (a launched command's own output, in a log of dtrace -c run by hand)",
  ]);
  t.is(profile.totals.allocs, 25);
});

const refused = test.macro(
  async (t, scenario: string, args: string[], exitCode: number, message: RegExp, env: Record<string, string> = {}) => {
    const result = await memtraceDtrace(args, scenario, { env });
    t.is(result.exitCode, exitCode, `${result.stderr}`);
    t.regex(`${result.stderr}`, message);
    t.is(`${result.stdout}`, '');
  },
);

test(
  'missing privileges',
  refused,
  'privilege',
  ['malloc', '-p', String(process.pid)],
  77,
  /^memtrace-dtrace: DTrace requires additional privileges: re-run with sudo$/m,
);
test(
  'SIP blocking the attach: what to run to allow DTrace',
  refused,
  'sip',
  ['malloc', '-p', String(process.pid)],
  77,
  /csrutil enable --without dtrace/,
);
test(
  'dtrace finding no process',
  refused,
  'no-such-pid',
  ['malloc', '-p', String(process.pid)],
  5,
  /no process with PID \d+ \(it may have exited\)/,
);
test(
  'a PID that does not exist, caught before dtrace runs',
  refused,
  'replay',
  ['malloc', '-p', '4194303'],
  5,
  /no process with PID 4194303/,
);
test(
  'dtrace missing from PATH',
  refused,
  'replay',
  ['malloc', '-p', String(process.pid)],
  4,
  /dtrace not found in PATH or at \/usr\/sbin\/dtrace/,
  { PATH: directory() },
);
test(
  'a command argument with a space cannot go through dtrace -c',
  refused,
  'replay',
  ['malloc', '--', './prog', 'two words'],
  2,
  /dtrace -c splits the command on white space, so "two words" cannot be passed as one argument/,
);
test(
  'bpftrace-only options are refused by name',
  refused,
  'replay',
  ['malloc', '--events', '/tmp/e.log', '--mmap', '-p', String(process.pid)],
  2,
  /--events \(the per-call log\), --mmap: not available with DTrace/,
);
test(
  'a --lib module with a colon never reaches the program',
  refused,
  'replay',
  ['malloc', '--lib', 'libsystem_malloc.dylib:free', '-p', String(process.pid)],
  2,
  /--lib: expected an absolute path or a library name/,
);

test('--print-script prints the D program for the PID and runs nothing', async (t) => {
  const result = await memtraceDtrace(['malloc', '--print-script', '--sample', '3', '-p', '4242'], 'privilege');
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.true(`${result.stdout}`.includes('pid4242:libsystem_malloc.dylib:malloc:entry\n/self->fn == 0/'));
  t.true(`${result.stdout}`.includes('self->seq % 3 == 1'));
});

test('--help names memtrace-dtrace and its DTrace notes', async (t) => {
  const result = await memtraceDtrace(['malloc', '--help']);
  t.is(result.exitCode, 0);
  t.regex(
    `${result.stdout}`,
    /^Usage: memtrace-dtrace malloc \[options\] -p PID\n {7}memtrace-dtrace malloc \[options\] -- COMMAND \[ARGS\.\.\.\]$/m,
  );
  t.regex(`${result.stdout}`, /memtrace-dtrace malloc \(macOS\) runs the same session with DTrace's pid/);
});
