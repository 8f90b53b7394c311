// The process preload inside a launched Node program must not change how the program ends: each
// way a program ends gives the exit code, the output and the timing it gives without memtrace, with
// heap figures up to its end and no "Waiting for the debugger to disconnect..." (which a session to
// the main thread left open at exit would print, and wait for under --inspect).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { memtraceAuto } from '../helpers/cli.js';
import { readLogRecords } from '../helpers/process-log.js';

const directory = mkdtempSync(join(tmpdir(), 'memtrace-exits-test-'));
/** Keeps some heap, then stays 300 ms so that the worker and the timer have reported. */
const WORK = 'globalThis.kept = Array.from({ length: 1e5 }, (_, i) => ({ i }));';
const esm = join(directory, 'main.mjs');
writeFileSync(esm, `${WORK}\nawait new Promise((resolve) => setTimeout(resolve, 300));\nconsole.log('esm done');\n`);

const ENDINGS: Array<{ name: string; node: string[]; code: number; output?: RegExp }> = [
  { name: 'the event loop runs dry', node: ['-e', `${WORK} setTimeout(() => console.log('dry'), 300)`], code: 0, output: /^dry$/m },
  { name: 'process.exit(3)', node: ['-e', `${WORK} setTimeout(() => process.exit(3), 300)`], code: 3 },
  {
    name: 'process.exit(4) in the middle of a busy loop',
    node: ['-e', `${WORK} const end = Date.now() + 500; while (true) if (Date.now() > end) process.exit(4)`],
    code: 4,
  },
  {
    name: 'an uncaught exception',
    node: ['-e', `${WORK} setTimeout(() => { throw new Error('boom') }, 300)`],
    code: 1,
    output: /Error: boom/,
  },
  { name: 'process.exitCode = 5 and a dry loop', node: ['-e', `${WORK} process.exitCode = 5; setTimeout(() => {}, 300)`], code: 5 },
  { name: 'an ES module with top-level await', node: [esm], code: 0, output: /^esm done$/m },
  {
    name: 'a program run with --inspect (no client)',
    node: ['--inspect=127.0.0.1:0', '-e', `${WORK} setTimeout(() => process.exit(0), 300)`],
    code: 0,
  },
  {
    name: 'a program with its own inspector session, left open',
    node: [
      '-e',
      `${WORK} const s = new (require('node:inspector').Session)(); s.connect(); s.post('Runtime.getHeapUsage', () => {}); setTimeout(() => console.log('own'), 300)`,
    ],
    code: 0,
    output: /^own$/m,
  },
];

for (const ending of ENDINGS) {
  test(`${ending.name}: exit code ${ending.code}, at once, with heap figures`, async (t) => {
    const log = join(directory, `${ending.name.replace(/\W+/g, '-')}.jsonl`);
    const started = performance.now();
    const result = await memtraceAuto(['process', '-i', '50ms', '-o', log, '--', 'node', ...ending.node]);
    const took = performance.now() - started;
    t.is(result.exitCode, ending.code, result.stderr);
    if (ending.output !== undefined) t.regex(`${result.stdout}\n${result.stderr}`, ending.output);
    t.notRegex(result.stderr, /Waiting for the debugger/);
    t.true(took < 15_000, `took ${Math.round(took)} ms`);
    const { samples, stop } = readLogRecords(log);
    t.like(stop, { reason: 'target-exited', exitCode: ending.code });
    t.true(
      samples.some((sample) => typeof sample.heapUsed === 'number'),
      'heap figures came',
    );
  });
}
