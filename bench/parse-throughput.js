#!/usr/bin/env node
// bench/parse-throughput.js: how fast `memtrace report` reads a large bpftrace `@[ustack] = count()`
// dump, against FlameGraph's stackcollapse-bpftrace.pl on the same file, side by side: MB/s, peak
// memory, and whether both give the same folded stacks.
//
//   node bench/parse-throughput.js [MEGABYTES]      (default 300; after npm run build)
//
// The input is made from a real run: test/fixtures/bpftrace/debian12-0.17/maps-spread.text.txt is
// bpftrace 0.17's output for test/workloads/stack-allocs.c --spread 40 (282 distinct user stacks:
// 7 recursive functions x 40 depths, plus libc's own; bpftrace left some frames unnamed, see the
// fixtures' README). Its map entries are repeated until the file
// has MEGABYTES; copy i renames every frame `sym+off` to `sym_vV+off+V` and moves every unnamed
// frame `0xADDR` to ADDR + V x 0x1000, with V = i mod 64 (other names, other call-site offsets, other
// addresses), so the file holds 282 x 64 distinct stacks, each printed many
// times with its own count, in the exact shape bpftrace prints them. (A real map never repeats a
// key; a long trace's dump is large because it has many stacks, which this keeps bounded so
// that memory stays a property of the profile, not of the file.)
//
// Each runs as its own process under /usr/bin/time -v (wall and CPU time, peak RSS):
//   memtrace's reader → folded: node, importing dist/parse/bpftrace-maps.js and dist/report/folded.js
//     (readBpftraceMaps, then renderFolded to stdout): the ratio is taken on this row
//   node bin/memtrace.js report FILE -f folded: the same through the CLI, whose start-up (loading
//     every command's modules, execa's among them) adds ~0.3 s of CPU, shown apart
//   perl /work/shared/peers/flamegraph/stackcollapse-bpftrace.pl FILE
// The Perl collapser prints one line per map entry and keeps `+off` in frame names; memtrace drops
// offsets (a frame is its function, as in every memtrace report) and merges equal stacks. For the
// comparison, the Perl output gets the same two steps (offsets dropped, equal stacks summed), then
// both are sorted and compared byte for byte.
//
// FlameGraph's scripts are read from /work/shared/peers/flamegraph (override with FLAMEGRAPH_DIR);
// they are never copied into this project. Without them the bench measures memtrace alone.
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const megabytes = Number(process.argv[2] ?? 300);
const seedPath = join(root, 'test/fixtures/bpftrace/debian12-0.17/maps-spread.text.txt');
const peers = process.env.FLAMEGRAPH_DIR ?? '/work/shared/peers/flamegraph';
const collapser = join(peers, 'stackcollapse-bpftrace.pl');
// BENCH_VARIANTS=N changes the 64 (a large N makes every printed stack new: the reader's slowest case).
const VARIANTS = Number(process.env.BENCH_VARIANTS ?? 64);

const tmp = mkdtempSync(join(tmpdir(), 'memtrace-parse-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** The seed's map entries, each as its frame lines (leaf first) and its count. */
function seedEntries() {
  const entries = [];
  let frames = null;
  for (const line of readFileSync(seedPath, 'utf8').split('\n')) {
    if (line === '@[') frames = [];
    else if (frames !== null && line.startsWith(']: ')) {
      entries.push({ frames, count: Number(line.slice(3)) });
      frames = null;
    } else if (frames !== null) frames.push(line.trim());
  }
  return entries;
}

async function writeInput(path) {
  const entries = seedEntries();
  const out = createWriteStream(path);
  const write = (text) => (out.write(text) ? null : new Promise((done) => out.once('drain', done)));
  await write('Attaching 2 probes...\n\n\n');
  let written = 0;
  for (let copy = 0; written < megabytes * 1e6; copy += 1) {
    const variant = copy % VARIANTS;
    let block = '';
    for (const entry of entries) {
      block += '@[\n';
      for (const frame of entry.frames) {
        const named = /^(.*)\+(\d+)$/.exec(frame);
        const unnamed = /^0x([0-9a-f]+)$/.exec(frame);
        if (named) block += `    ${named[1]}_v${variant}+${Number(named[2]) + variant}\n`;
        else if (unnamed) block += `    0x${(BigInt(`0x${unnamed[1]}`) + BigInt(variant * 0x1000)).toString(16)}\n`;
        else block += `    ${frame}\n`;
      }
      block += `]: ${entry.count + copy}\n`;
    }
    written += Buffer.byteLength(block);
    await write(block);
  }
  await new Promise((done) => out.end(done));
  return entries.length;
}

/** Runs a command under /usr/bin/time -v; returns its stdout file, wall seconds and peak RSS. */
function timed(label, command, args) {
  const output = join(tmp, `${label}.out`);
  const run = spawnSync('/usr/bin/time', ['-v', '-o', join(tmp, `${label}.time`), command, ...args], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`${label}: ${command} exited with ${run.status}`);
  writeFileSync(output, run.stdout);
  const report = readFileSync(join(tmp, `${label}.time`), 'utf8');
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(report);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)[1]);
  const cpuSeconds = Number(/User time \(seconds\): ([\d.]+)/.exec(report)[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(report)[1]);
  return { output, seconds, cpuSeconds, rssMiB: rssKiB / 1024 };
}

/** Folded lines with frame offsets dropped and equal stacks summed, sorted. */
function normalizedFolded(path) {
  const totals = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const space = line.lastIndexOf(' ');
    const stack = line
      .slice(0, space)
      .split(';')
      .map((frame) => frame.replace(/\+\d+$/, ''))
      .join(';');
    totals.set(stack, (totals.get(stack) ?? 0) + Number(line.slice(space + 1)));
  }
  return [...totals].map(([stack, count]) => `${stack} ${count}`).sort();
}

if (!existsSync(join(root, 'dist/parse/bpftrace-maps.js'))) {
  console.error('bench/parse-throughput.js: build first (npm run build)');
  process.exit(2);
}
const input = join(tmp, 'ustack.txt');
const seedStacks = await writeInput(input);
const bytes = statSync(input).size;
const mb = bytes / 1e6;
console.log(`input: ${mb.toFixed(1)} MB of bpftrace @[ustack] output (${seedStacks} stacks of a real run x ${VARIANTS} variants, repeated)`);
console.log(`machine: ${execFileSync('nproc').toString().trim()} cores, node ${process.version}, ${execFileSync('perl', ['-e', 'print $^V']).toString()}`);
console.log('');

const rows = [];
const driver = [
  `import { readBpftraceMaps } from ${JSON.stringify(join(root, 'dist/parse/bpftrace-maps.js'))};`,
  `import { renderFolded } from ${JSON.stringify(join(root, 'dist/report/folded.js'))};`,
  `const maps = await readBpftraceMaps(process.argv[1], { lenient: false });`,
  `process.stdout.write(renderFolded(maps.stackMaps[0].profile));`,
].join('\n');
const memtrace = timed('memtrace', process.execPath, ['--input-type=module', '-e', driver, input]);
rows.push(["memtrace's reader → folded", memtrace]);
const cli = timed('memtrace-cli', process.execPath, [join(root, 'bin/memtrace.js'), 'report', input, '-f', 'folded']);
rows.push(['memtrace report -f folded (CLI)', cli]);
let perl = null;
if (existsSync(collapser)) {
  perl = timed('perl', 'perl', [collapser, input]);
  rows.push(['stackcollapse-bpftrace.pl', perl]);
} else {
  console.log(`(${collapser} not found: FlameGraph's collapser is not measured; set FLAMEGRAPH_DIR)`);
}

// Wall time is what a user waits; CPU time (user + sys) is steadier on a shared, busy machine.
console.log('| tool | wall s | MB/s (wall) | CPU s | MB/s (CPU) | peak RSS (MiB) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [label, run] of rows) {
  console.log(`| ${label} | ${run.seconds.toFixed(2)} | ${(mb / run.seconds).toFixed(1)} | ${run.cpuSeconds.toFixed(2)} | ${(mb / run.cpuSeconds).toFixed(1)} | ${run.rssMiB.toFixed(0)} |`);
}
if (perl !== null) {
  console.log('');
  console.log(`throughput ratio, memtrace's reader / perl: ${(perl.seconds / memtrace.seconds).toFixed(1)}x wall, ${(perl.cpuSeconds / memtrace.cpuSeconds).toFixed(1)}x CPU (target >= 10x)`);
  console.log(`throughput ratio, memtrace report (CLI) / perl: ${(perl.seconds / cli.seconds).toFixed(1)}x wall, ${(perl.cpuSeconds / cli.cpuSeconds).toFixed(1)}x CPU`);
  const ours = readFileSync(memtrace.output, 'utf8').split('\n').filter((line) => line !== '').sort();
  if (readFileSync(cli.output, 'utf8') !== readFileSync(memtrace.output, 'utf8')) {
    console.log('the CLI and the reader gave DIFFERENT folded output');
    process.exitCode = 1;
  }
  const theirs = normalizedFolded(perl.output);
  const same = ours.length === theirs.length && ours.every((line, index) => line === theirs[index]);
  console.log(`folded results: ${same ? 'the same' : 'DIFFERENT'} (${ours.length} distinct stacks; perl's ${readFileSync(perl.output, 'utf8').split('\n').length - 1} lines normalized)`);
  if (!same) process.exitCode = 1;
}
