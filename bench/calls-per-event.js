#!/usr/bin/env node
// bench/calls-per-event.js: what `memtrace calls` costs a Python program per event, beside the
// stand-in for pymemtrace's cPyMemTrace (a /proc/self/statm read per event, which is how
// cPyMemTrace gets RSS on Linux; pymemtrace itself cannot be installed here: no PyPI).
//
//   sudo node bench/calls-per-event.js [CALLS=200000] [RUNS=3]      (after npx tsc -p tsconfig.json)
//
// The workload is a loop calling a tiny Python function CALLS times, timed by the program itself
// (time.perf_counter around the loop), so bpftrace's start-up is not counted:
//   untraced            the loop alone
//   memtrace calls      the same program attached by memtrace-bpf calls (default trigger: one page)
//   statm per event     the loop with two /proc/self/statm reads per call (one at the call, one at the
//                       return), the way cPyMemTrace reads RSS, in Python (an upper bound of the C read)
// Per-event cost = (traced − untraced) / events; for memtrace the events are the calls and returns
// its probes saw, and, on CPython 3.11, the line events its line probe counted (reported apart).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const calls = Number(process.argv[2] ?? 200_000);
const runs = Number(process.argv[3] ?? 3);
const python = '/usr/bin/python3.11';
const work = mkdtempSync(join(tmpdir(), 'memtrace-bench-calls-'));

const LOOP = `import sys, time
def tiny():
    return 1
def statm():
    with open('/proc/self/statm', 'rb') as f:
        return int(f.read().split()[1])
def tiny_statm():
    statm()
    return 1
def main(n, kind):
    if '--wait-stdin' in sys.argv:
        sys.stdin.readline()
    fn = tiny_statm if kind == 'statm' else tiny
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    if kind == 'statm':
        # tiny_statm reads once per call; a tracer reads at the call and at the return: twice.
        elapsed = elapsed + (elapsed - base(n))
    print(elapsed, flush=True)
def base(n):
    start = time.perf_counter()
    for _ in range(n):
        tiny()
    return time.perf_counter() - start
main(int(sys.argv[1]), sys.argv[2])
`;
const script = join(work, 'loop.py');
writeFileSync(script, LOOP);

function untraced(kind) {
  return Number(execFileSync(python, [script, String(calls), kind], { encoding: 'utf8' }).trim());
}

function traced() {
  return new Promise((resolve, reject) => {
    const target = spawn(python, [script, String(calls), 'plain', '--wait-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const report = join(work, `calls-${target.pid}.json`);
    const tracer = spawn(process.execPath, [join(root, 'bin/memtrace-bpf.js'), 'calls', '-p', String(target.pid), '-o', report], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let output = '';
    target.stdout.on('data', (chunk) => (output += chunk));
    tracer.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (/memtrace: tracing PID/.test(stderr) && !target.stdin.writableEnded) target.stdin.end('go\n');
    });
    tracer.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`memtrace calls exited ${code}: ${stderr}`));
      const log = JSON.parse(readFileSync(report, 'utf8'));
      resolve({ seconds: Number(output.trim()), events: log.tracer.seenEvents, lines: log.tracer.lineEvents ?? 0 });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const plain = [];
const statm = [];
const memtrace = [];
for (let run = 0; run < runs; run += 1) {
  plain.push(untraced('plain'));
  statm.push(untraced('statm'));
  memtrace.push(await traced());
}
const base = median(plain);
const tracedRun = memtrace.sort((a, b) => a.seconds - b.seconds)[Math.floor(memtrace.length / 2)];
const perEvent = ((tracedRun.seconds - base) / tracedRun.events) * 1e6;
const perHit = ((tracedRun.seconds - base) / (tracedRun.events + tracedRun.lines)) * 1e6;
const statmPerEvent = ((median(statm) - base) / (2 * calls)) * 1e6;
const us = (value) => `${value.toFixed(2)} µs`;
console.log(`calls-per-event: ${calls} calls of a tiny Python function, ${python}, median of ${runs} runs`);
console.log(`  untraced loop                      ${base.toFixed(3)} s (${us((base / calls) * 1e6)} per call)`);
console.log(
  `  memtrace calls (attached)          ${tracedRun.seconds.toFixed(3)} s; ${tracedRun.events} call/return events, ${tracedRun.lines} line events`,
);
console.log(`    per call/return event            ${us(perEvent)} (line probe's cost included)`);
console.log(`    per probe hit (events + lines)   ${us(perHit)}`);
console.log(`  /proc/self/statm read per event    ${us(statmPerEvent)} (stand-in for cPyMemTrace's RSS read)`);
console.log(`  cPyMemTrace: ~5.5 µs per event reading /proc (the figure issue 5 cites); pymemtrace's own description: x10 to x20 slower`);
