#!/usr/bin/env node
// bench/gc-overhead.js: what `memtrace gc` costs a GC-heavy node program, and how its pauses compare
// with the ones V8 itself reports.
//
//   sudo node bench/gc-overhead.js [ROUNDS=5] [ITERATIONS=6000000]     (after building dist/)
//
// The workload is test/workloads/node/alloc-loop.js, an allocation loop that times itself (so the
// tracer's start-up, 2-5 s of attaching to node's 98 MB binary, is not counted), run through a
// wrapper that also takes the process's CPU time over the loop (all threads: V8's GC helpers too),
// which a busy shared machine disturbs less than wall time. Each round runs it untraced, then
// launched under memtrace gc, alternately, so that drift of the machine hits both. Printed: wall
// and CPU seconds each way (median and minimum) and their ratios, the collections a traced run saw,
// and, on one more traced run with --trace-gc, the sum of memtrace's pauses against the sum of the
// pauses V8 prints.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.argv[2] ?? 5);
const iterations = String(Number(process.argv[3] ?? 6_000_000));
const workload = `${root}test/workloads/node/alloc-loop.js`;
const memtrace = `${root}bin/memtrace-bpf.js`;
const work = mkdtempSync(join(tmpdir(), 'memtrace-bench-'));
const node = execFileSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).trim();

// Runs the workload's loop (it runs when the module is evaluated) between two readings of the CPU clock.
const wrapper = [
  `process.argv[2] = ${JSON.stringify(iterations)};`,
  'const before = process.cpuUsage();',
  `await import(${JSON.stringify(workload)});`,
  'const used = process.cpuUsage(before);',
  'console.log(`cpu_seconds ${((used.user + used.system) / 1e6).toFixed(4)}`);',
].join('\n');
const nodeArgs = (extra) => [...extra, '--input-type=module', '-e', wrapper];

function loopSeconds(output) {
  const wall = /loop_seconds ([0-9.]+)/.exec(output);
  const cpu = /cpu_seconds ([0-9.]+)/.exec(output);
  if (!wall || !cpu) throw new Error(`no loop_seconds and cpu_seconds in:\n${output}`);
  return { wall: Number(wall[1]), cpu: Number(cpu[1]) };
}

function untraced() {
  return loopSeconds(execFileSync(node, nodeArgs([]), { encoding: 'utf8' }));
}

function traced(extra = []) {
  const report = join(work, `gc-${Math.random().toString(36).slice(2)}.json`);
  const run = spawnSync(process.execPath, [memtrace, 'gc', '--quiet', '-o', report, '--', node, ...nodeArgs(extra)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`memtrace gc failed (${run.status}):\n${run.stderr}`);
  return { seconds: loopSeconds(run.stdout), log: JSON.parse(readFileSync(report, 'utf8')), stdout: run.stdout };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const plain = [];
const withGc = [];
let collections = 0;
for (let round = 0; round < rounds; round += 1) {
  plain.push(untraced());
  const run = traced();
  withGc.push(run.seconds);
  collections = run.log.collections.length;
}

// One more traced run with --trace-gc: V8's own pause figure for each collection, beside memtrace's.
const checked = traced(['--trace-gc']);
const v8Pauses = [...checked.stdout.matchAll(/ms: (?:Scavenge|Mark-Compact|Minor Mark-Compact)[^,]*, ([0-9.]+) \/ [0-9.]+ ms/g)].map((m) =>
  Number(m[1]),
);
const ourPauses = checked.log.collections.map((c) => c.pauseMs);
const sum = (values) => values.reduce((total, value) => total + value, 0);

const row = (name, runs, key) => {
  const values = runs.map((run) => run[key]);
  return `  ${name.padEnd(22)} median ${median(values).toFixed(3)} s, min ${Math.min(...values).toFixed(3)} s   (${values.map((v) => v.toFixed(3)).join(' ')})`;
};
const ratio = (key, pick) => (pick(withGc.map((run) => run[key])) / pick(plain.map((run) => run[key]))).toFixed(3);
const min = (values) => Math.min(...values);
console.log(`gc tracing overhead on alloc-loop.js ${iterations} (${rounds} rounds; node ${process.version})`);
console.log(row('untraced, wall', plain, 'wall'));
console.log(row('memtrace gc, wall', withGc, 'wall'));
console.log(row('untraced, CPU', plain, 'cpu'));
console.log(row('memtrace gc, CPU', withGc, 'cpu'));
console.log(
  `  ratio traced/untraced  wall: median ${ratio('wall', median)}x, min ${ratio('wall', min)}x; CPU: median ${ratio('cpu', median)}x, min ${ratio('cpu', min)}x`,
);
console.log(`  collections per run    ${collections}`);
console.log(`  --trace-gc run: ${v8Pauses.length} collections printed by V8, ${ourPauses.length} seen by memtrace`);
console.log(
  `  sum of pauses: V8 ${sum(v8Pauses).toFixed(2)} ms, memtrace ${sum(ourPauses).toFixed(2)} ms (entry to return of PerformGarbageCollection)`,
);
