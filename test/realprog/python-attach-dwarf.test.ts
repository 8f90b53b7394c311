// Debian's python3.11 (built without frame pointers) attached by PID while it grows bytearrays:
// with DWARF every allocation's stack runs from the process's entry through the interpreter loop
// (_PyEval_EvalFrameDefault) to the realloc in PyByteArray_Resize; a frame-pointer walk (the only
// one a bpftrace before 0.26 has) never gets that far.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { LIVE_DWARF, liveTest } from '../helpers/live.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';
import { ROOT } from '../helpers/workloads.js';

// Debian's own build: the python3 on PATH may be another (pyenv's, with frame pointers or not).
const PYTHON = DEBIAN_PYTHON;
const WORKLOAD = join(ROOT, 'test/workloads/python/bytearray-grow.py');

/** A live test that also needs Debian's python3.11: skipped without it, unless CI requires everything. */
const pythonTest = needing([PYTHON_NEED], liveTest);

/** Traces the workload for 2 s, attached once it runs. */
async function traceAttached(t: ExecutionContext, options: string[]): Promise<MallocProfile> {
  // Runs far longer than bpftrace 0.27 takes to attach (about 20 s here); killed after the trace.
  const target = execa(PYTHON, [WORKLOAD, '170'], { reject: false });
  try {
    const pid = Number((await waitForLine(target.stdout!, /^ready \d+$/)).split(' ')[1]);
    const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'python.json');
    const traced = await memtrace(['malloc', ...options, '-p', String(pid), '--duration', '2s', '-o', output], { timeout: 150_000 });
    t.is(traced.exitCode, 0, `${traced.stderr}`);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.true(profile.totals.allocs > 10_000, JSON.stringify(profile.totals));
    // Every append that outgrows the block is a realloc: they are nearly all of the calls.
    const realloc = profile.functions.find((fn) => fn.name === 'realloc');
    t.true(realloc !== undefined && realloc.calls > 0.9 * profile.totals.allocs, JSON.stringify(profile.functions));
    return profile;
  } finally {
    target.kill();
    await target;
  }
}

if (LIVE_DWARF) {
  pythonTest('DWARF, attached: every stack reaches _PyEval_EvalFrameDefault; the reallocs come from PyByteArray_Resize', async (t) => {
    const profile = await traceAttached(t, []);
    t.is(profile.tracer.stacks, 'dwarf');
    for (const stack of profile.stacks) {
      const names = stack.frames.map((frame) => frame.name);
      t.deepEqual(
        names.slice(0, 5),
        ['_start', '__libc_start_main', '__libc_start_call_main', 'Py_BytesMain', 'Py_RunMain'],
        names.join(' > '),
      );
      t.true(names.includes('_PyEval_EvalFrameDefault'), names.join(' > '));
    }
    const byCalls = [...profile.stacks].sort((a, b) => b.allocs - a.allocs)[0]!;
    t.is(byCalls.frames.at(-1)!.name, 'PyByteArray_Resize');
  });
} else {
  pythonTest('frame pointers, attached: no stack reaches the interpreter loop (python3.11 keeps no frame pointers)', async (t) => {
    const profile = await traceAttached(t, []);
    t.is(profile.tracer.stacks, 'fp');
    const names = new Set(profile.stacks.flatMap((stack) => stack.frames.map((frame) => frame.name)));
    t.false(names.has('_PyEval_EvalFrameDefault'));
    t.false(names.has('Py_BytesMain'));
  });
}
