// scripts/dtrace/pymalloc.d on a real DTrace (DTrace for Linux, MEMTRACE_DTRACE_LIVE) against Debian's
// python3.11, whose `python` USDT provider DTrace for Linux reads from the executable's stapsdt notes.
// The workload, test/workloads/python/grow.py --repeat 3, makes in hold_out_grow (line 23) 23 bytes
// objects of 1 MiB per round: each is one malloc of 1 MiB + 33 bytes (PyBytesObject's header and
// NUL; above pymalloc's 512-byte limit, so CPython asks libc), and hold_out_release (line 28) frees
// them. Per run: 69 mallocs of 72,354,021 bytes at line 23, 69 frees at line 28, exactly, and no other
// row of grow.py. Allocations outside those frames (start-up, imports, the frames running when
// tracing starts) vary and are not asserted. Then the programs compile with -e, as rendered for a PID
// and as checked in. No dt_<pid>_ uprobe_events entry of these dtraces is left behind.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PyMallocDtraceParser, type PyMallocDtrace } from '../../src/parse/pymalloc-dtrace.js';
import { renderPyMallocD } from '../../src/probes/render-pymalloc-d.js';
import { renderStandalonePyMallocD } from '../../src/tools/malloc/pymalloc-d-script.js';
import { memtraceAuto, MEMTRACE_DTRACE, waitForLine } from '../helpers/cli.js';
import { liveDtraceTest, runDtrace } from '../helpers/live-dtrace.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';
import { ROOT } from '../helpers/workloads.js';

const PYTHON = DEBIAN_PYTHON;
const pythonDtraceTest = needing([PYTHON_NEED], liveDtraceTest);
const GROW = `${ROOT}test/workloads/python/grow.py`;
const ROUNDS = 3;
const BLOCK = 1024 * 1024 + 33;
const EXPECTED = [
  [`${GROW};hold_out_grow (line 23)`, { allocs: 23 * ROUNDS, allocBytes: 23 * ROUNDS * BLOCK, frees: 0 }],
  [`${GROW};hold_out_release (line 28)`, { allocs: 0, allocBytes: 0, frees: 23 * ROUNDS }],
];

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-dtrace-py-')), name);
}

/** The checked-in program rendered for glibc, as a user gets it: `memtrace-dtrace scripts pymalloc --lib libc.so.6`. */
async function glibcScript(): Promise<string> {
  const result = await execa(process.execPath, [MEMTRACE_DTRACE, 'scripts', '--lib', 'libc.so.6', 'pymalloc']);
  const path = temporary('pymalloc.d');
  writeFileSync(path, `${result.stdout}\n`);
  return path;
}

function parse(text: string): PyMallocDtrace {
  const parser = new PyMallocDtraceParser({ source: 'dtrace stdout' });
  for (const line of text.split('\n')) parser.push(line);
  return parser.finish();
}

/** The rows of grow.py, as `FILE;FUNCTION (line N)` and their figures, in a fixed order. */
function growRows(result: PyMallocDtrace) {
  return result.samples
    .filter((sample) => sample.frames[0]?.name === GROW)
    .map((sample) => [sample.frames.map((frame) => frame.name).join(';'), sample.values] as const)
    .sort(([a], [b]) => a.localeCompare(b));
}

/** uprobe_events entries a dtrace left behind (DTrace for Linux names them dt_PID_…). */
function leftBehind(dtracePid: number): string[] {
  return readFileSync('/sys/kernel/tracing/uprobe_events', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`dt_${dtracePid}_`));
}

pythonDtraceTest('launched (-c): grow.py allocations land on the allocating lines, exactly; the report reads the output', async (t) => {
  const script = await glibcScript();
  const dtrace = runDtrace(['-Zs', script, '-c', `${PYTHON} ${GROW} --repeat ${ROUNDS}`], { reject: false, timeout: 120_000 });
  const run = await dtrace;
  t.is(run.exitCode, 0, run.stderr);
  const result = parse(run.stdout);
  t.true(result.began && result.ended);
  t.deepEqual(growRows(result), EXPECTED);
  t.is(result.lines.foreign, 1, 'the workload printed its one line');
  t.deepEqual(leftBehind(dtrace.pid!), []);

  const log = temporary('out.txt');
  writeFileSync(log, `${run.stdout}\n`);
  const folded = await memtraceAuto(['report', log, '-f', 'folded']);
  t.is(folded.exitCode, 0, `${folded.stderr}`);
  t.true(`${folded.stdout}`.split('\n').includes(`${GROW};hold_out_grow (line 23) ${23 * ROUNDS * BLOCK}`), `${folded.stdout}`);
});

pythonDtraceTest('attached (-p): frames entered after the attach are attributed exactly; dtrace ends with its target', async (t) => {
  const script = await glibcScript();
  const python = execa(PYTHON, [GROW, '--wait-stdin', '--repeat', String(ROUNDS)], { reject: false, stdin: 'pipe' });
  const dtrace = runDtrace(['-Zs', script, '-p', String(python.pid)], { reject: false, timeout: 120_000 });
  // BEGIN fires once every probe is enabled: only then may the workload start.
  await waitForLine(dtrace.stdout!, /^memtrace:begin pymalloc$/);
  python.stdin!.end('go\n');
  const [ran, traced] = await Promise.all([python, dtrace]);
  t.is(ran.exitCode, 0, ran.stderr);
  t.is(ran.stdout, `python calls made: ${2 * ROUNDS}`);
  t.is(traced.exitCode, 0, traced.stderr);
  const result = parse(traced.stdout);
  t.true(result.ended);
  t.deepEqual(growRows(result), EXPECTED);
  t.deepEqual(leftBehind(dtrace.pid!), []);
});

pythonDtraceTest(
  'pymalloc compiles (dtrace -e): for a PID with --min-size and --duration, and scripts/dtrace/pymalloc.d as checked in (-Z) and for glibc (every probe found)',
  async (t) => {
    const python = execa(PYTHON, [GROW, '--wait-stdin'], { reject: false, stdin: 'pipe' });
    try {
      // The python provider of a process exists once its executable is mapped: wait for the interpreter.
      await waitForInterpreter(python.pid!);
      const compile = async (program: string, extra: string[] = []) => {
        const path = temporary('pymalloc.d');
        writeFileSync(path, program);
        const dtrace = runDtrace([...extra, '-q', '-e', '-s', path, '-p', String(python.pid)], {
          reject: false,
          timeout: 120_000,
        });
        const result = await dtrace;
        t.deepEqual(leftBehind(dtrace.pid!), []);
        return { exitCode: result.exitCode, said: `${result.stderr}${result.stdout}`.trim() };
      };
      const forPid = await compile(renderPyMallocD({ pid: python.pid!, library: 'libc.so.6', minSize: 1024, durationMs: 2500 }));
      t.deepEqual(forPid, { exitCode: 0, said: '' });
      const asIs = await compile(readFileSync(join(ROOT, 'scripts/dtrace/pymalloc.d'), 'utf8'), ['-Z']);
      t.deepEqual(asIs, { exitCode: 0, said: '' });
      // Without -Z a description that matches nothing fails: python:::line and every allocator function exist here.
      const glibc = await compile(renderStandalonePyMallocD('libc.so.6'));
      t.deepEqual(glibc, { exitCode: 0, said: '' });
    } finally {
      python.stdin!.end('\n');
      await python;
    }
  },
);

async function waitForInterpreter(pid: number): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    if (readFileSync(`/proc/${pid}/maps`, 'utf8').includes('python3.11')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`python ${pid} never mapped python3.11`);
}
