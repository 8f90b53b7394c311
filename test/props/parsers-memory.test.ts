// Memory stays bounded by the model, not the file: a 32 MiB log of random printable lines (built
// once, seeded) is read leniently by every REPORT_INPUTS entry, each in its own child process
// (test/helpers/parse-rss-child.ts) so the figure is the parser's peak RSS (VmHWM), not this
// test's heap. The child's old space is capped at 32 MiB (--max-old-space-size): reading the file
// into one string would not fit, and RSS growth must stay under the file's size. A streaming
// parser costs its buffers and the garbage collector's slack.
// Reproduce: `npx ava test/props/parsers-memory.test.ts` (about 70 s on 2 cores).
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import test from 'ava';
import { REPORT_INPUTS } from '../../src/tools/report/inputs.js';
import { ROOT } from '../helpers/workloads.js';

const run = promisify(execFile);
const FILE_BYTES = 32 * 1024 * 1024;
const directory = mkdtempSync(`${tmpdir()}/memtrace-props-memory-`);
const garbage = `${directory}/garbage.log`;
test.after.always(() => rmSync(directory, { recursive: true, force: true }));

test.before(() => {
  // A linear congruential generator, seeded: the same bytes every run.
  let seed = 0x6d656d;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const fd = openSync(garbage, 'w');
  let written = 0;
  while (written < FILE_BYTES) {
    const lines: string[] = [];
    for (let index = 0; index < 10_000; index++) {
      const length = next() % 200;
      let line = '';
      for (let char = 0; char < length; char++) line += String.fromCharCode(32 + (next() % 95));
      lines.push(line);
    }
    const chunk = `${lines.join('\n')}\n`;
    writeSync(fd, chunk);
    written += chunk.length;
  }
  closeSync(fd);
});

// Two at a time: the machine has two cores.
const queue = [...REPORT_INPUTS];
const results = new Map<string, Promise<{ beforeKiB: number; peakKiB: number; ms: number; outcome: string }>>();
let running: Promise<unknown> = Promise.resolve();
function measure(name: string): Promise<{ beforeKiB: number; peakKiB: number; ms: number; outcome: string }> {
  let result = results.get(name);
  if (result === undefined) {
    const start = running.then(() => undefined);
    result = start.then(async () => {
      const { stdout } = await run(
        process.execPath,
        ['--max-old-space-size=32', '--import=tsx', `${ROOT}test/helpers/parse-rss-child.ts`, name, garbage],
        { cwd: ROOT, timeout: 60_000 },
      );
      return JSON.parse(stdout) as { beforeKiB: number; peakKiB: number; ms: number; outcome: string };
    });
    results.set(name, result);
    // Every second measurement waits for the one before it: at most two children at once.
    if (results.size % 2 === 0) running = Promise.all([...results.values()].slice(-2)).catch(() => undefined);
  }
  return result;
}

for (const input of queue) {
  test(`${input.name}: 32 MiB of random lines, read leniently in a 32 MiB old space, costs less than 32 MiB of RSS`, async (t) => {
    const { beforeKiB, peakKiB, ms, outcome } = await measure(input.name);
    t.log(`${input.name}: peak RSS +${Math.round((peakKiB - beforeKiB) / 1024)} MiB in ${ms} ms; ${outcome}`);
    t.true(peakKiB - beforeKiB < FILE_BYTES / 1024, `peak RSS grew by ${peakKiB - beforeKiB} KiB`);
    t.true(outcome === 'ok' || outcome.startsWith(`ParseError: ${garbage}:`), outcome);
  });
}
