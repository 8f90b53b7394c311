// Child process of test/props/parsers.test.ts: reads one log through one REPORT_INPUTS entry,
// leniently, and prints the process's peak RSS (VmHWM) before and after, so the parent measures
// what parsing the log cost without its own heap in the figure.
//   node --import=tsx test/helpers/parse-rss-child.ts INPUT_NAME FILE
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { REPORT_INPUTS } from '../../src/tools/report/inputs.js';

function peakKiB(): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match![1]);
}

const [name, path] = process.argv.slice(2) as [string, string];
const input = REPORT_INPUTS.find((candidate) => candidate.name === name)!;
const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });
const before = peakKiB();
const started = Date.now();
let outcome = 'ok';
try {
  await input.report(
    path,
    { outputs: [], format: 'json', lenient: true, value: null, top: null, push: null, map: null, with: null },
    { stdout: sink(), stderr: sink() },
  );
} catch (error) {
  outcome = error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error);
}
process.stdout.write(`${JSON.stringify({ beforeKiB: before, peakKiB: peakKiB(), ms: Date.now() - started, outcome })}\n`);
