#!/usr/bin/env node
// Overhead of memtrace-bpf faults on a page-touching loop: bench/faults-overhead/touch-loop.c
// (64 MiB mapped, written page by page, unmapped; ROUNDS times) untraced and traced, the loop's own
// time as it measures it. Prints the times, the ratio and the cost per fault. Needs root.
// Usage: sudo node bench/faults-overhead.js [ROUNDS] [REPEATS]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = process.argv[2] ?? '20';
const repeats = Number(process.argv[3] ?? '3');
const binary = join(mkdtempSync(join(tmpdir(), 'memtrace-bench-')), 'touch-loop');
execFileSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-o', binary, join(root, 'bench/faults-overhead/touch-loop.c')]);

function loopSeconds(command) {
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
  const match = /loop ([0-9.]+) s (\d+) pages/.exec(result.stderr);
  if (!match) throw new Error(`no loop time from ${command.join(' ')}:\n${result.stderr}`);
  return { seconds: Number(match[1]), pages: Number(match[2]) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const untraced = [];
const traced = [];
let pages = 0;
for (let i = 0; i < repeats; i++) {
  const plain = loopSeconds([binary, rounds]);
  pages = plain.pages;
  untraced.push(plain.seconds);
  traced.push(
    loopSeconds(
      [process.execPath, join(root, 'bin/memtrace-bpf.js'), 'faults', '-o', '/dev/null.json', '--', binary, rounds].map((part) =>
        part === '/dev/null.json' ? join(tmpdir(), 'faults-bench.json') : part,
      ),
    ).seconds,
  );
}
const base = median(untraced);
const withTrace = median(traced);
console.log(`page-touching loop: ${pages.toLocaleString('en-US')} faults, median of ${repeats}`);
console.log(`  untraced  ${base.toFixed(3)} s  (${((base / pages) * 1e6).toFixed(3)} us per fault)`);
console.log(`  traced    ${withTrace.toFixed(3)} s  (${((withTrace / pages) * 1e6).toFixed(3)} us per fault)`);
console.log(`  ratio     ${(withTrace / base).toFixed(2)}x, ${(((withTrace - base) / pages) * 1e6).toFixed(3)} us added per fault`);
