#!/usr/bin/env node
// The README's first command ends here: builds the bundled demo workload (a C program whose
// allocations are known exactly) and traces it with memtrace-bpf malloc, launched from its first
// instruction. Writes a flame graph and a leak report beside the table on stdout.
//
// Only the tracing runs as root (scripts/as-root: directly for root, through sudo otherwise), so
// the workload binary a user builds here stays theirs, and this node, wherever a version manager
// put it, is the one that runs memtrace.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const binary = `${root}test/workloads/bin/known-allocs`;
mkdirSync(`${root}test/workloads/bin`, { recursive: true });
execFileSync('gcc', ['-O0', '-g', '-fno-builtin', '-fno-omit-frame-pointer', '-o', binary, `${root}test/workloads/known-allocs.c`], {
  stdio: 'inherit',
});
const result = spawnSync(
  'sh',
  [
    `${root}scripts/as-root`,
    process.execPath,
    `${root}bin/memtrace-bpf.js`,
    'malloc',
    '-o',
    'demo-flame.svg',
    '-o',
    'demo-leaks.json',
    '-o',
    '-',
    '--',
    binary,
  ],
  { stdio: 'inherit' },
);
// known-allocs exits with 7 on purpose: memtrace passes the command's exit code on.
process.exitCode = result.status === 7 ? 0 : (result.status ?? 1);
