// A tracer that prints garbage or nothing: test/fixtures/fake-bpftrace/bpftrace.cjs, given through
// --tracer-path, answers --version like bpftrace 0.17 and then prints nothing (exit 0 or 1), random
// bytes before or after BEGIN's marker, the first half of a real run cut mid-line, or hangs ignoring
// SIGINT and SIGTERM. memtrace must end with a clear error or a partial report, in bounded time,
// with the attached target running and nothing of its own left behind.
import type { ExecutionContext } from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { execa } from 'execa';
import { leftoversAfter, readReport, startMemtrace, temporary } from '../helpers/faults.js';
import { liveTest } from '../helpers/live.js';
import { processInfo, seededRandom } from '../helpers/processes.js';
import { fixture } from '../helpers/workloads.js';
import { FAKE_BPFTRACE } from '../helpers/fake-bpftrace.js';

const REPLAY = fixture('bpftrace/debian12-0.17/malloc-known-allocs-symbolized.json.ndjson');
/** The successful allocations of that run (its @ok_allocs). */
const REPLAY_ALLOCS = 106;
const random = seededRandom('fake-tracer');

async function traceWithFake(mode: string, extra: string[] = [], env: Record<string, string> = {}) {
  const target = execa('sleep', ['120'], { reject: false });
  const output = temporary('report.json');
  const started = Date.now();
  const run = startMemtrace(['malloc', '--tracer-path', FAKE_BPFTRACE, '-p', String(target.pid), '-o', output, ...extra], {
    FAKE_BPFTRACE_MODE: mode,
    FAKE_BPFTRACE_SEED: String(random.next(1, 2 ** 31)),
    FAKE_BPFTRACE_REPLAY: REPLAY,
    ...env,
  });
  const result = await run.session;
  const elapsedMs = Date.now() - started;
  const leftovers = await leftoversAfter(run, [target.pid!]);
  const state = processInfo(target.pid!)?.state;
  target.kill('SIGKILL');
  await target;
  return { result, stderr: run.stderr(), profile: readReport<MallocProfile>(output), elapsedMs, leftovers, state };
}

async function before(t: ExecutionContext, mode: string, message: RegExp): Promise<void> {
  const run = await traceWithFake(mode);
  t.is(run.result.exitCode, 4, run.stderr);
  t.regex(run.stderr, message);
  t.is(run.profile, null);
  t.deepEqual(run.leftovers, []);
  t.regex(run.state ?? '', /^[SR]$/);
}

liveTest('prints nothing, exits 0: a clear error before tracing started', (t) =>
  before(t, 'silent-0', /bpftrace \(.*bpftrace\.cjs\) exited with code 0 before tracing started without a message/),
);
liveTest('prints nothing, exits 1: a clear error before tracing started', (t) =>
  before(t, 'silent-1', /bpftrace \(.*bpftrace\.cjs\) exited with code 1 before tracing started without a message/),
);
liveTest('random bytes and no BEGIN marker: a clear error before tracing started', (t) =>
  before(t, 'garbage-before', /exited with code 0 before tracing started without a message/),
);

liveTest('a line of random bytes opened by "{" before any BEGIN marker: a ParseError naming the line, exit 3, no report', async (t) => {
  const run = await traceWithFake('json-garbage-before');
  t.is(run.result.exitCode, 3, run.stderr);
  t.regex(
    run.stderr,
    /memtrace-bpf: bpftrace:1: not valid memtrace malloc output: expected a complete JSON object \(bpftrace -f json output\): "\{/,
  );
  t.is(run.profile, null);
  t.deepEqual(run.leftovers, []);
  t.regex(run.state ?? '', /^[SR]$/);
});

liveTest('BEGIN, then random bytes, then exit 0: a partial report that says the results never came', async (t) => {
  const run = await traceWithFake('garbage-after');
  t.is(run.result.exitCode, 0, run.stderr);
  t.true(run.profile!.partial);
  t.is(run.profile!.partialReason, 'the trace ended before the tracer printed its results');
  t.is(run.profile!.totals.allocs, 0);
  t.regex(run.stderr, /memtrace: the report is partial: the trace ended before the tracer printed its results\n/);
  t.deepEqual(run.leftovers, []);
  t.regex(run.state ?? '', /^[SR]$/);
});

liveTest('half of a real run, cut mid-line: a ParseError naming the line, exit 3, no report', async (t) => {
  const run = await traceWithFake('truncated');
  t.is(run.result.exitCode, 3, run.stderr);
  t.regex(
    run.stderr,
    /memtrace-bpf: bpftrace:15: not valid memtrace malloc output: expected a complete JSON object \(bpftrace -f json output\): "\{\\"type\\": \\"map\\", \\"dat"/,
  );
  t.is(run.profile, null);
  t.deepEqual(run.leftovers, []);
  t.regex(run.state ?? '', /^[SR]$/);
});

liveTest('BEGIN, then deaf to SIGINT and SIGTERM: memtrace gives up by SIGKILL after twice the stop grace, partial report', async (t) => {
  // MEMTRACE_STOP_GRACE=2: SIGTERM 2 s and SIGKILL 4 s after SIGINT (15 s and 30 s by default,
  // which stopGraceMs' own test checks); the duration backstop fires 2 s after the 1 s.
  const run = await traceWithFake('hang', ['--duration', '1s'], { MEMTRACE_STOP_GRACE: '2' });
  t.log(`memtrace ended after ${run.elapsedMs} ms`);
  t.true(run.elapsedMs >= 7_000 && run.elapsedMs < 22_000, `${run.elapsedMs} ms`);
  t.is(run.result.exitCode, 4, run.stderr);
  t.is(run.profile!.partialReason, 'bpftrace was killed by SIGKILL while printing its maps: what it had not printed is lost');
  t.deepEqual(run.leftovers, []);
  t.regex(run.state ?? '', /^[SR]$/);
});

liveTest('the program ends itself just before the duration backstop fires: the backstop cannot cut its results', async (t) => {
  // Seen in CI with bpftrace 0.17 attached to node: attaching took about the backstop's slack, the
  // program's own timer ended the run a moment before the backstop's signal arrived, and a SIGINT
  // then killed bpftrace as it printed (exit 4, a whole trace reported partial). Here the fake's run
  // ends 2.7 s after BEGIN, its results come out 1.5 s later, and the backstop fires at 3 s (1 s + 2 s).
  const run = await traceWithFake('late-end', ['--duration', '1s'], { FAKE_BPFTRACE_RUN_MS: '2700', FAKE_BPFTRACE_FLUSH_MS: '1500' });
  t.is(run.result.exitCode, 0, run.stderr);
  t.false(run.profile!.partial, run.profile!.partialReason ?? '');
  t.is(run.profile!.totals.allocs, REPLAY_ALLOCS);
  t.notRegex(run.stderr, /partial/);
  t.deepEqual(run.leftovers, []);
});

liveTest('a bad MEMTRACE_STOP_GRACE is a usage error before anything is traced', async (t) => {
  const run = await traceWithFake('hang', ['--duration', '1s'], { MEMTRACE_STOP_GRACE: '0' });
  t.is(run.result.exitCode, 2, run.stderr);
  t.regex(run.stderr, /MEMTRACE_STOP_GRACE: expected seconds from 0\.1 to 3600, got "0"/);
  t.is(run.profile, null);
  t.deepEqual(run.leftovers, []);
});
