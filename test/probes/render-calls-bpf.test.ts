import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildCallsSpec, type CallsSpecOptions } from '../../src/probes/calls-spec.js';
import { renderCallsBpf } from '../../src/probes/render-calls-bpf.js';
import { renderStandaloneCallsScript } from '../../src/tools/calls/script.js';
import { LIVE_BPFTRACE, liveTest, compileOnlyArgs } from '../helpers/live.js';
import { ROOT } from '../helpers/workloads.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';

const PYTHON = { binary: DEBIAN_PYTHON, lines: true };
const render = (options: Partial<CallsSpecOptions>) =>
  renderCallsBpf(buildCallsSpec({ pid: 4242, python: PYTHON, triggerBytes: 4096, ...options }));

test('the checked-in scripts/bpf/calls.bt is the generator output for python3.11 and the default trigger', (t) => {
  t.is(readFileSync(join(ROOT, 'scripts/bpf/calls.bt'), 'utf8'), renderStandaloneCallsScript());
});

test('Python probes: entry and return on the interpreter, the line probe counted only, RSS from the task counters', (t) => {
  const program = render({});
  t.true(program.includes('usdt:/proc/4242/root/usr/bin/python3.11:python:function__entry\n/pid == 4242/'));
  t.true(program.includes('usdt:/proc/4242/root/usr/bin/python3.11:python:function__return\n/pid == 4242/'));
  t.true(program.includes('usdt:/proc/4242/root/usr/bin/python3.11:python:line\n/pid == 4242/\n{\n  @lines = @lines + 1;\n}'));
  t.true(
    program.includes('$rss = (curtask->mm->rss_stat[0].count + curtask->mm->rss_stat[1].count + curtask->mm->rss_stat[3].count) * 4096;'),
  );
  t.true(program.includes('if (@logged_seq == 0 || $rss - @logged_rss >= 4096 || @logged_rss - $rss >= 4096) {'));
  t.true(program.includes('printf("memtrace:end %d %d %d\\n", @seq, @printed, @lines);'));
  t.false(program.includes('uprobe:'));
});

test('without the line probe (not 3.11) there is no @lines map', (t) => {
  const program = render({ python: { binary: '/opt/py/bin/python3.10', lines: false } });
  t.false(program.includes(':python:line'));
  t.false(program.includes('@lines'));
  t.true(program.includes('printf("memtrace:end %d %d %d\\n", @seq, @printed, 0);'));
});

test('--trigger 0 prints every event: no RSS condition', (t) => {
  const program = render({ triggerBytes: 0 });
  t.false(program.includes('@logged_rss >='));
  t.true(program.includes('printf("memtrace:calls 0 4096 1\\n");'));
});

test('native functions: an entry and a return probe each, declared at BEGIN by id', (t) => {
  const program = render({ python: null, functions: [{ library: '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13', symbol: 'deflate' }] });
  t.true(program.includes('printf("memtrace:func 1 /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 deflate\\n");'));
  t.true(program.includes('uprobe:/usr/lib/x86_64-linux-gnu/libz.so.1.2.13:deflate\n/pid == 4242/'));
  t.true(program.includes('uretprobe:/usr/lib/x86_64-linux-gnu/libz.so.1.2.13:deflate\n/pid == 4242/'));
  t.true(program.includes('$event = (4, (uint64)1, (uint64)0, (int64)0, $rss);'));
  t.false(program.includes('usdt:'));
});

test('a standalone program takes the PID as $1; --duration ends it from inside', (t) => {
  const program = render({ pid: null, durationMs: 1500 });
  t.true(program.includes('/pid == $1/'));
  t.true(program.includes('interval:ms:1500\n{\n  exit();\n}'));
});

for (const [title, options] of [
  ['Python with the line probe', {}],
  ['Python and native functions', { functions: [{ library: '/usr/lib/x86_64-linux-gnu/libc.so.6', symbol: 'malloc_trim' }] }],
  [
    'native only, every event',
    { python: null, triggerBytes: 0, functions: [{ library: '/usr/lib/x86_64-linux-gnu/libc.so.6', symbol: 'malloc_trim' }] },
  ],
] as const) {
  // The USDT probes are read from Debian's python3.11: without it only the native program compiles.
  const compileTest = (options as Partial<CallsSpecOptions>).python === null ? liveTest : needing([PYTHON_NEED], liveTest);
  compileTest(`bpftrace compiles the program: ${title}`, (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
    const program = join(directory, 'program.bt');
    // For this test's own PID: the USDT probes name the binary through /proc/PID/root, which bpftrace
    // 0.27's --dry-run resolves (a PID that does not exist has no such path).
    writeFileSync(program, render({ ...(options as Partial<CallsSpecOptions>), pid: process.pid }));
    const result = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'program.o')), program], {
      encoding: 'utf8',
      env: { ...process.env, BPFTRACE_STRLEN: '120' },
    });
    t.is(result.status, 0, result.stderr);
    t.false(/ERROR: (?!.*RLIMIT_MEMLOCK)/.test(result.stderr), result.stderr);
  });
}
