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
// fixtures' README). Its map entries are repeated until the file has MEGABYTES; copy i renames
// every frame `sym+off` to `sym_vV+off+V` and moves every unnamed frame `0xADDR` to ADDR + V x
// 0x1000 (other names, other call-site offsets, other addresses), in the exact shape bpftrace
// prints them. Two cases, printed one after the other:
//   stacks repeat:   V = i mod 64, so the file holds 282 x 64 distinct stacks, each printed many
//                    times with its own count (a dump of several maps, or of periodic prints);
//   distinct stacks: V = i, so every printed stack is new: what one map's dump is, its keys being
//                    unique (the reader's slowest case, and the one whose result grows with the file).
// BENCH_CASE=repeat (or distinct) runs one case; BENCH_VARIANTS=N runs one case of V = i mod N.
//
// Each runs as its own process under /usr/bin/time -v (wall and CPU time, peak RSS):
//   memtrace's reader → folded: node, importing dist/parse/bpftrace-maps.js and dist/report/folded.js
//     (readBpftraceMaps, then renderFoldedTrie's chunks to stdout): the ratio is taken on this row
//   node bin/memtrace.js report FILE -f folded: the same through the CLI, whose start-up (loading
//     every command's modules, execa's among them) adds ~0.3 s of CPU, shown apart
//   perl /work/shared/peers/flamegraph/stackcollapse-bpftrace.pl FILE
// The Perl collapser prints one line per map entry and keeps `+off` in frame names; memtrace drops
// offsets (a frame is its function, as in every memtrace report) and merges equal stacks. For the
// comparison, the Perl output gets the same two steps (offsets dropped, equal stacks summed), then
// both are compared byte for byte (memtrace's output must already be in Perl's sorted order).
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
// Two cases, one after the other: stacks that repeat (64 variants) and stacks that never do (a map's
// keys are unique, so a real dump of one map is this case). BENCH_CASE=repeat or distinct runs one;
// BENCH_VARIANTS=N runs one case of N variants instead.
const ALL_CASES = [
  ['stacks repeat', 64],
  ['distinct stacks', Infinity],
];
const CASES =
  process.env.BENCH_VARIANTS !== undefined
    ? [[`${process.env.BENCH_VARIANTS} variants`, Number(process.env.BENCH_VARIANTS)]]
    : ALL_CASES.filter(([name]) => process.env.BENCH_CASE === undefined || name.startsWith(process.env.BENCH_CASE));

const tmp = mkdtempSync(join(tmpdir(), 'memtrace-parse-bench-'));
process.on('exit', () =>
  process.env.BENCH_KEEP === '1' ? process.stderr.write(`inputs kept in ${tmp}\n`) : rmSync(tmp, { recursive: true, force: true }),
);

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

async function writeInput(path, variants) {
  const entries = seedEntries();
  const out = createWriteStream(path);
  const write = (text) => (out.write(text) ? null : new Promise((done) => out.once('drain', done)));
  await write('Attaching 2 probes...\n\n\n');
  let written = 0;
  for (let copy = 0; written < megabytes * 1e6; copy += 1) {
    const variant = copy % variants;
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
  const run = spawnSync('/usr/bin/time', ['-v', '-o', join(tmp, `${label}.time`), command, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0) throw new Error(`${label}: ${command} exited with ${run.status}`);
  writeFileSync(output, run.stdout);
  const report = readFileSync(join(tmp, `${label}.time`), 'utf8');
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(report);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)[1]);
  const cpuSeconds =
    Number(/User time \(seconds\): ([\d.]+)/.exec(report)[1]) + Number(/System time \(seconds\): ([\d.]+)/.exec(report)[1]);
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
  // Sorted by stack, as memtrace sorts (the value is not part of the key).
  return [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([stack, count]) => `${stack} ${count}`);
}

if (!existsSync(join(root, 'dist/parse/bpftrace-maps.js'))) {
  console.error('bench/parse-throughput.js: build first (npm run build)');
  process.exit(2);
}
console.log(
  `machine: ${execFileSync('nproc').toString().trim()} cores, node ${process.version}, ${execFileSync('perl', ['-e', 'print $^V']).toString()}`,
);
const driver = [
  `import { readBpftraceMaps } from ${JSON.stringify(join(root, 'dist/parse/bpftrace-maps.js'))};`,
  `import { renderFoldedTrie } from ${JSON.stringify(join(root, 'dist/report/folded.js'))};`,
  `const maps = await readBpftraceMaps(process.argv[1], { lenient: false });`,
  `for (const chunk of renderFoldedTrie(maps.stackMaps[0].stacks)) if (!process.stdout.write(chunk)) await new Promise((done) => process.stdout.once('drain', done));`,
].join('\n');
let failed = false;
for (const [name, variants] of CASES) {
  const input = join(tmp, `ustack-${name}.txt`);
  const seedStacks = await writeInput(input, variants);
  const mb = statSync(input).size / 1e6;
  console.log('');
  console.log(
    `## ${name}: ${mb.toFixed(1)} MB of bpftrace @[ustack] output (${seedStacks} stacks of a real run x ${Number.isFinite(variants) ? `${variants} variants, repeated` : 'a new variant each copy: every printed stack distinct'})`,
  );
  console.log('');
  const rows = [];
  const memtrace = timed('memtrace', process.execPath, ['--input-type=module', '-e', driver, input]);
  rows.push(["memtrace's reader → folded", memtrace]);
  const cli = timed('memtrace-cli', process.execPath, [join(root, 'bin/memtrace.js'), 'report', input, '-f', 'folded']);
  rows.push(['memtrace report -f folded (CLI)', cli]);
  const perl = existsSync(collapser) ? timed('perl', 'perl', [collapser, input]) : null;
  if (perl !== null) rows.push(['stackcollapse-bpftrace.pl', perl]);
  else console.log(`(${collapser} not found: FlameGraph's collapser is not measured; set FLAMEGRAPH_DIR)`);
  if (process.env.BENCH_KEEP !== '1') rmSync(input);
  // Wall time is what a user waits; CPU time (user + sys) is steadier on a shared, busy machine.
  console.log('| tool | wall s | MB/s (wall) | CPU s | MB/s (CPU) | peak RSS (MiB) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, run] of rows) {
    console.log(
      `| ${label} | ${run.seconds.toFixed(2)} | ${(mb / run.seconds).toFixed(1)} | ${run.cpuSeconds.toFixed(2)} | ${(mb / run.cpuSeconds).toFixed(1)} | ${run.rssMiB.toFixed(0)} |`,
    );
  }
  console.log('');
  if (!readFileSync(cli.output).equals(readFileSync(memtrace.output))) {
    console.log('the CLI and the reader gave DIFFERENT folded output');
    failed = true;
  }
  if (perl === null || statSync(memtrace.output).size > 2 ** 28) {
    // Past 256 MB of output, the line-by-line comparison would not fit in JavaScript strings.
    console.log(`${statSync(memtrace.output).size} bytes of folded output${perl === null ? '' : '; too large to compare with perl here'}`);
    continue;
  }
  const ours = readFileSync(memtrace.output, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  console.log(
    `throughput ratio, memtrace's reader / perl: ${(perl.seconds / memtrace.seconds).toFixed(1)}x wall, ${(perl.cpuSeconds / memtrace.cpuSeconds).toFixed(1)}x CPU`,
  );
  console.log(
    `throughput ratio, memtrace report (CLI) / perl: ${(perl.seconds / cli.seconds).toFixed(1)}x wall, ${(perl.cpuSeconds / cli.cpuSeconds).toFixed(1)}x CPU`,
  );
  console.log(
    `peak RSS, memtrace's reader / perl: ${(memtrace.rssMiB / perl.rssMiB).toFixed(2)}; CLI / perl: ${(cli.rssMiB / perl.rssMiB).toFixed(2)}`,
  );
  // memtrace's output is sorted already (byte order): it must stay so, and equal Perl's normalized.
  const theirs = normalizedFolded(perl.output);
  const same = ours.length === theirs.length && ours.every((line, index) => line === theirs[index]);
  console.log(
    `folded results: ${same ? 'the same' : 'DIFFERENT'} (${ours.length} distinct stacks; perl's ${readFileSync(perl.output, 'utf8').split('\n').length - 1} lines normalized)`,
  );
  if (!same) failed = true;
}
if (failed) process.exitCode = 1;
