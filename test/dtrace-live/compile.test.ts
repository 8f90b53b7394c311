// The D programs memtrace generates, compiled by a real dtrace (DTrace for Linux: MEMTRACE_DTRACE_LIVE)
// with -e (compile, enable nothing): every option set of the golden tests (test/helpers/dtrace-golden.ts),
// and the checked-in scripts/dtrace/malloc.d. A pid-provider program needs a live process: each is
// rendered for a known-allocs held in its --wait (the golden's pid 4242 and, for the macOS sets,
// libsystem_malloc.dylib, become that PID and libc.so.6; the test checks that is the only difference).
// Without -Z, a probe description that matches nothing fails: every allocator function was found.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { buildMallocSpec } from '../../src/probes/malloc-spec.js';
import { DARWIN_MALLOC_MODULE, renderMallocD } from '../../src/probes/render-malloc-d.js';
import { darwinMallocSpecOptions } from '../../src/tools/malloc/d-script.js';
import { waitForLine } from '../helpers/cli.js';
import { GOLDEN_SETS } from '../helpers/dtrace-golden.js';
import { liveDtraceTest, runDtrace } from '../helpers/live-dtrace.js';
import { buildWorkload, fixture, ROOT } from '../helpers/workloads.js';

let held: { pid: number; stop: () => void } | null = null;

/** A known-allocs waiting for SIGUSR1 (it never gets it): a live process to compile pid probes for. */
async function heldProcess(): Promise<number> {
  if (held === null) {
    const child = execa(buildWorkload('known-allocs'), ['--wait'], { reject: false });
    const pid = Number((await waitForLine(child.stdout!, /^ready \d+$/)).split(' ')[1]);
    held = { pid, stop: () => child.kill('SIGKILL') };
  }
  return held.pid;
}

test.after.always(() => held?.stop());

/** dtrace -e on `program` for `pid`: exit code and what it said. */
async function compile(program: string, pid: number, extra: string[] = []) {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'program.d');
  writeFileSync(path, program);
  const result = await runDtrace([...extra, '-q', '-e', '-s', path, '-p', String(pid)], { reject: false, timeout: 120_000 });
  return { exitCode: result.exitCode, said: `${result.stderr}${result.stdout}`.trim() };
}

for (const set of GOLDEN_SETS) {
  liveDtraceTest(`golden ${set.name}.d compiles (${set.title})`, async (t) => {
    const pid = await heldProcess();
    const program = renderMallocD(
      buildMallocSpec({ ...darwinMallocSpecOptions(), stackMode: 'ustack', ...set.options, pid, library: 'libc.so.6' }),
      set.dOptions,
    );
    // The program compiled is the golden one, for this PID and glibc's module.
    const golden = readFileSync(fixture(`dtrace/golden/${set.name}.d`), 'utf8');
    const module = set.options.library ?? DARWIN_MALLOC_MODULE;
    t.is(program.replaceAll(`pid${pid}:`, 'pid4242:').replaceAll(`, ${pid});`, ', 4242);').replaceAll('libc.so.6', module), golden);
    const { exitCode, said } = await compile(program, pid);
    t.is(exitCode, 0, said);
    t.is(said, '');
  });
}

liveDtraceTest(
  'scripts/dtrace/malloc.d compiles as checked in (-Z: libsystem_malloc.dylib is not here) and with libc.so.6 (every probe found)',
  async (t) => {
    const pid = await heldProcess();
    const script = readFileSync(join(ROOT, 'scripts/dtrace/malloc.d'), 'utf8');
    const asIs = await compile(script, pid, ['-Z']);
    t.is(asIs.exitCode, 0, asIs.said);
    const glibc = await compile(script.replaceAll(`:${DARWIN_MALLOC_MODULE}:`, ':libc.so.6:'), pid);
    t.is(glibc.exitCode, 0, glibc.said);
    t.is(glibc.said, '');
  },
);

liveDtraceTest('a program with a D error is refused by the real compiler (the test can fail)', async (t) => {
  const pid = await heldProcess();
  const broken = await compile('pid$target:libc.so.6:malloc:entry { self->x = ; }\n', pid);
  t.not(broken.exitCode, 0);
  t.regex(broken.said, /syntax error/);
});
