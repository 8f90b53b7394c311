// memtrace doctor: what the tracers found here can do, and what a newer one would give; with the
// host's bpftrace (Debian 12's 0.17), a newer one given with --tracer-path, none, and as non-root.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { gated, ROOT_PROBLEM } from '../helpers/gate.js';
import { memtraceAuto } from '../helpers/cli.js';
import { newerBpftrace } from '../helpers/newer-bpftrace.js';
import { examineMachine, renderDoctorReport } from '../../src/tools/doctor/doctor.js';

const HOST_BPFTRACE = '/usr/bin/bpftrace';
const hostVersion = spawnSync(HOST_BPFTRACE, ['--version'], { encoding: 'utf8' }).stdout ?? '';
const HOST_IS_017 = /v0\.17\./.test(hostVersion);
const NEWER = newerBpftrace();
/** No private root and no $MEMTRACE_BPFTRACE: the tools would take bpftrace from PATH. */
const plainEnv = { MEMTRACE_BPFTRACE_ROOT: '', MEMTRACE_BPFTRACE: undefined, MEMTRACE_DTRACE: undefined };

/** The tests that read the host's bpftrace as Debian 12's: skipped where the host has another. */
const HOST_017_PROBLEM = HOST_IS_017 ? null : 'the host has no bpftrace 0.17';

gated(HOST_017_PROBLEM, { base: test, optional: true })(
  "the host's bpftrace 0.17: no per-PID uprobes, with what they give and setup-bpftrace as the remedy",
  async (t) => {
    const result = await memtraceAuto(['doctor'], { env: { ...plainEnv, PATH: '/usr/bin:/bin' }, extendEnv: true });
    t.is(result.exitCode, 0, `${result.stderr}`);
    const text = `${result.stdout}`;
    t.regex(text, /^bpftrace 0\.17\.\d+: \/usr\/bin\/bpftrace\n {2}found as: the first bpftrace on PATH/m);
    t.regex(text, /^ {2}per-PID uprobes: no /m);
    t.regex(
      text,
      /^- per-PID uprobes: attaching \(-p PID\) traps in the traced process only; .* 785× slower; bpftrace 0\.17, Debian 12 VM with 2 cores.*\n {4}to get it: sudo memtrace setup-bpftrace$/m,
    );
    t.regex(text, /^- DWARF stacks \(dw_ustack\): .*\n {4}to get it: sudo memtrace setup-bpftrace/m);
    t.regex(text, /^kernel \d+\.\d+/m);
    t.regex(text, /^tracefs: /m);
  },
);

gated(NEWER !== null ? null : 'set MEMTRACE_NEWER_BPFTRACE to a bpftrace 0.26 or later', { base: test, optional: true })(
  '--tracer-path to a newer bpftrace: per-PID uprobes, offset uprobes and DWARF stacks are there',
  async (t) => {
    const result = await memtraceAuto(['doctor', '--tracer-path', NEWER!, '--json'], { env: plainEnv });
    t.is(result.exitCode, 0, `${result.stderr}`);
    const report = JSON.parse(`${result.stdout}`) as {
      bpftrace: { found: boolean; foundBy: string; path: string; features: Record<string, unknown> };
      missing: Array<{ what: string }>;
    };
    t.true(report.bpftrace.found);
    t.is(report.bpftrace.path, NEWER!);
    t.is(report.bpftrace.foundBy, 'given with --tracer-path');
    t.like(report.bpftrace.features, { pidScopedUprobes: true, offsetUprobes: true, dwarfStacks: true });
    t.deepEqual(
      report.missing.map((item) => item.what).filter((what) => what !== 'DTrace'),
      [],
    );
  },
);

test('no bpftrace anywhere: said plainly, exit 0, "ready": false for scripts', async (t) => {
  const env = { ...plainEnv, PATH: '/nonexistent' };
  const text = await memtraceAuto(['doctor'], { env });
  t.is(text.exitCode, 0, `${text.stderr}`);
  t.regex(
    `${text.stdout}`,
    /^bpftrace: not found — no bpftrace: not given with --tracer-path or \$MEMTRACE_BPFTRACE, no private root, none on PATH$/m,
  );
  t.regex(
    `${text.stdout}`,
    /^- bpftrace: every tracing tool of memtrace-bpf .*\n {4}to get it: sudo apt-get install bpftrace, or sudo memtrace setup-bpftrace for a newer one$/m,
  );
  t.regex(`${text.stdout}`, /^Not ready to trace: no bpftrace/m);
  const json = await memtraceAuto(['doctor', '--json'], { env });
  t.is(JSON.parse(`${json.stdout}`).ready, false);
});

gated(ROOT_PROBLEM ?? HOST_017_PROBLEM, { base: test, optional: true })(
  'as a user who is not root: it runs, and says tracing needs root',
  async (t) => {
    const result = await memtraceAuto(['doctor'], { env: { ...plainEnv, PATH: '/usr/bin:/bin', HOME: '/tmp' }, uid: 65534, gid: 65534 });
    t.is(result.exitCode, 0, `${result.stderr}`);
    t.regex(`${result.stdout}`, /^root: no — tracing needs root: run the tracing commands with sudo/m);
    t.regex(`${result.stdout}`, /^bpftrace 0\.17\.\d+: \/usr\/bin\/bpftrace$/m);
    t.regex(`${result.stdout}`, /^Not ready to trace: not root\.$/m);
  },
);

test('--help says what it examines and its exit code', async (t) => {
  const result = await memtraceAuto(['doctor', '--help']);
  t.is(result.exitCode, 0);
  t.regex(`${result.stdout}`, /^Usage: memtrace doctor/);
  t.regex(`${result.stdout}`, /Exits 0 whenever it could look/);
  const main = await memtraceAuto(['--help']);
  t.regex(`${main.stdout}`, /^ {2}doctor {2,}what this machine's tracers can do/m);
});

test("on macOS: DTrace is the tracer; its remedy is macOS's own (SIP), not setup-bpftrace; no Linux-only lines", async (t) => {
  const report = await examineMachine({ tracerPath: null, platform: 'darwin', env: { PATH: '/nonexistent', MEMTRACE_BPFTRACE_ROOT: '' } });
  t.false(report.bpftrace.found);
  t.false(report.dtrace.found);
  t.deepEqual(
    report.missing.map((item) => item.what),
    ['DTrace'],
  );
  t.regex(report.missing[0]!.remedy, /csrutil enable --without dtrace/);
  const text = renderDoctorReport(report);
  t.false(text.includes('setup-bpftrace'), text);
  t.false(/^(tracefs|debugfs):/m.test(text), text);
  t.regex(text, /^bpftrace: not found — bpftrace runs on Linux only/m);
  t.regex(text, /^Not ready to trace: no dtrace/m);
});
