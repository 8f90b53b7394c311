// Debian's sqlite3 (a program no one here wrote, built without frame pointers) on a SQL script:
// memtrace counts exactly what valgrind counts, run in the same test on the same script; with DWARF
// the largest stack is whole from the process's entry through sqlite3_step.
//
// Fair comparison: valgrind runs glibc's __libc_freeres at exit (freeing libc's own buffers, which a
// normal exit leaves allocated): one free more than the program made. --run-libc-freeres=no turns
// that off; then allocations, frees, bytes and the blocks in use at exit all agree. Standard
// streams are the same for both (stdin /dev/null, stdout a pipe); the script writes its results to
// /dev/null, as a terminal on stdout would make stdio's buffer 1 KiB instead of 4 KiB.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { LIVE_DWARF, liveTest } from '../helpers/live.js';
import { memtrace } from '../helpers/cli.js';
import { needing, program } from '../helpers/needs.js';
import { ROOT } from '../helpers/workloads.js';

const SCRIPT_DIRECTORY = join(ROOT, 'test/workloads/sql');
const COMMAND = ['sqlite3', '-init', 'btree-insert.sql', ':memory:', '.quit'];
/** A live test that also needs sqlite3 and valgrind: skipped without them, unless CI requires everything. */
const peerTest = needing([program('sqlite3'), program('valgrind')], liveTest);

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

/** valgrind's own summary of the script's run: `total heap usage` and `in use at exit`. */
function valgrindCounts() {
  const run = spawnSync('valgrind', ['--run-libc-freeres=no', ...COMMAND], {
    cwd: SCRIPT_DIRECTORY,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const number = (text: string) => Number(text.replaceAll(',', ''));
  const usage = /total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated/.exec(run.stderr);
  const inUse = /in use at exit: ([\d,]+) bytes in ([\d,]+) blocks/.exec(run.stderr);
  if (usage === null || inUse === null) throw new Error(`valgrind printed no heap summary:\n${run.stderr}`);
  return {
    allocs: number(usage[1]!),
    frees: number(usage[2]!),
    allocBytes: number(usage[3]!),
    outstanding: number(inUse[2]!),
    outstandingBytes: number(inUse[1]!),
  };
}

async function traceSqlite(output: string) {
  const traced = await memtrace(['malloc', '-o', output, '--', ...COMMAND], { cwd: SCRIPT_DIRECTORY, stdin: 'ignore', timeout: 200_000 });
  return { traced, profile: JSON.parse(readFileSync(output, 'utf8')) as MallocProfile };
}

peerTest("totals, frees and blocks in use at exit equal valgrind's on the same script", async (t) => {
  const expected = valgrindCounts();
  // A real workload, not a toy: over 100,000 allocations.
  t.true(expected.allocs > 100_000, JSON.stringify(expected));
  const { traced, profile } = await traceSqlite(temporary('sqlite3.json'));
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const { allocs, frees, allocBytes, outstanding, outstandingBytes, failed } = profile.totals;
  t.deepEqual({ allocs, frees, allocBytes, outstanding, outstandingBytes }, expected);
  t.is(failed, 0);
  t.is(profile.lostEvents, 0);
  t.is(profile.losses.untrackedLiveBlocks, 0);
});

if (LIVE_DWARF) {
  peerTest('DWARF: the stack with the most bytes runs whole from the entry through sqlite3_step into sqlite3VdbeExec', async (t) => {
    const { traced, profile } = await traceSqlite(temporary('sqlite3.json'));
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    t.is(profile.tracer.stacks, 'dwarf');
    const largest = [...profile.stacks].sort((a, b) => b.allocBytes - a.allocBytes)[0]!;
    const names = largest.frames.map((frame) => frame.name);
    // Root first: sqlite3's stripped _start, then glibc's start-up (named: exported or from libc6-dbg).
    t.deepEqual(names.slice(1, 3), ['__libc_start_main', '__libc_start_call_main'], names.join(' > '));
    t.is(largest.frames[0]!.module, 'sqlite3');
    const step = names.indexOf('sqlite3_step');
    t.true(step > 3, names.join(' > '));
    t.is(names[step + 1], 'sqlite3VdbeExec');
    // Frame pointers could not do this: through the same binary they give a handful of stacks.
    t.true(profile.stacks.length > 200, String(profile.stacks.length));
  });
}
