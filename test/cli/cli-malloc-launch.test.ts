// memtrace-bpf malloc -- COMMAND: a launched command traced from its first instruction.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { liveTest } from '../helpers/live.js';
import { memtrace } from '../helpers/cli.js';
import { KNOWN_FUNCTIONS, KNOWN_STACKS, KNOWN_TOTALS, functionsByName, stacksOf } from '../helpers/known-allocs.js';
import { buildWorkload } from '../helpers/workloads.js';

function temporary(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), name);
}

function readProfile(path: string): MallocProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as MallocProfile;
}

liveTest('launched: exact calls, bytes, failures and free(NULL) per function', async (t) => {
  const output = temporary('report.json');
  const result = await memtrace(['malloc', '-o', output, '--', buildWorkload('known-allocs')]);
  t.is(result.exitCode, 7, `${result.stderr}`);
  const profile = readProfile(output);
  const functions = functionsByName(profile);
  for (const [name, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[name], expected, name);
  t.deepEqual(profile.totals, KNOWN_TOTALS);
  t.false(profile.partial);
  t.is(profile.lostEvents, 0);
  t.is(profile.losses.truncatedStacks, 0);
  t.is(profile.losses.untrackedLiveBlocks, 0);
  // No bpftrace warning, no private-copy trouble.
  t.deepEqual(profile.notes, []);
});

liveTest('launched: exact per-stack allocations and outstanding blocks, named after the target exited', async (t) => {
  const output = temporary('report.json');
  const result = await memtrace(['malloc', '-o', output, '--', buildWorkload('known-allocs')]);
  t.is(result.exitCode, 7);
  const profile = readProfile(output);
  for (const [name, expected] of Object.entries(KNOWN_STACKS)) {
    const { stacks, ...sums } = stacksOf(profile, name);
    t.deepEqual(sums, expected, name);
    for (const stack of stacks) {
      // The caller of the allocator is the leaf, its caller (main) is next: no frame is skipped.
      t.deepEqual(
        stack.frames.slice(-2).map(({ name: frameName, module }) => ({ name: frameName, module })),
        [
          { name: 'main', module: 'known-allocs' },
          { name, module: 'known-allocs' },
        ],
      );
    }
  }
  const leaked = profile.stacks.filter((stack) => stack.outstanding > 0);
  t.is(leaked.length, 4);
  for (const stack of leaked) t.true(stack.oldestAgeSeconds !== null && stack.oldestAgeSeconds >= 0);
});

liveTest('launched: the command keeps its output and its exit code; a table on stdout never mixes with it', async (t) => {
  const result = await memtrace(['malloc', '--', buildWorkload('known-allocs')]);
  t.is(result.exitCode, 7);
  // stdout is a pipe here and carries the report, so the command's own output went to stderr.
  t.notRegex(`${result.stdout}`, /^allocated$/m);
  t.regex(`${result.stderr}`, /^allocated$/m);
  t.regex(`${result.stdout}`, /malloc/);
});

liveTest('launched: a node process allocating Buffers', async (t) => {
  const output = temporary('node.json');
  const size = 1_048_576 + 8;
  const script = `const kept = []; for (let i = 0; i < 37; i++) kept.push(Buffer.allocUnsafeSlow(${size})); console.log(kept.length);`;
  const result = await memtrace([
    'malloc',
    '--min-size',
    String(size),
    '--max-size',
    String(size),
    '-o',
    output,
    '--',
    process.execPath,
    '-e',
    script,
  ]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = readProfile(output);
  t.is(profile.totals.allocs, 37);
  t.is(profile.totals.allocBytes, 37 * size);
  const names = profile.stacks.flatMap((stack) => stack.frames.map((frame) => frame.name));
  t.true(names.includes('node::NodeArrayBufferAllocator::AllocateUninitialized(unsigned long)'), 'demangled C++ frame from node');
});

liveTest('--stack-depth 2 counts every cut stack', async (t) => {
  const output = temporary('report.json');
  await memtrace(['malloc', '--stack-depth', '2', '-o', output, '--', buildWorkload('known-allocs')]);
  const profile = readProfile(output);
  // Every stack is three frames deep (function, main, __libc_start_call_main) and beyond.
  t.is(profile.losses.truncatedStacks, KNOWN_TOTALS.allocs);
  t.true(profile.stacks.every((stack) => stack.frames.length === 2));
});

liveTest('--sample 3 keeps 1 allocation in 3 in stacks; totals stay exact', async (t) => {
  const output = temporary('report.json');
  await memtrace(['malloc', '--sample', '3', '-o', output, '--', buildWorkload('known-allocs')]);
  const profile = readProfile(output);
  t.is(profile.sampleEvery, 3);
  t.is(profile.totals.allocs, KNOWN_TOTALS.allocs);
  // Allocations 1, 4, 7, … 106 of the single thread.
  t.is(
    profile.stacks.reduce((sum, stack) => sum + stack.allocs, 0),
    36,
  );
});

liveTest('--min-size/--max-size select allocations by size', async (t) => {
  const output = temporary('report.json');
  await memtrace(['malloc', '--min-size', '4k', '--max-size', '4096', '-o', output, '--', buildWorkload('known-allocs')]);
  const profile = readProfile(output);
  t.deepEqual(functionsByName(profile).malloc, { calls: 29, bytes: 29 * 4096, failed: 0 });
  t.is(profile.totals.allocs, 29);
  t.is(profile.totals.outstanding, 13);
});

liveTest('--events writes one line per call', async (t) => {
  const output = temporary('report.json');
  const events = temporary('calls.log');
  await memtrace(['malloc', '--events', events, '-o', output, '--', buildWorkload('known-allocs')]);
  const lines = readFileSync(events, 'utf8').split('\n');
  t.is(lines.filter((line) => line.startsWith('A ')).length, KNOWN_TOTALS.allocs);
  t.is(lines.filter((line) => line.startsWith('F ')).length, KNOWN_TOTALS.frees);
  t.regex(
    lines.find((line) => line.startsWith('A calloc'))!,
    /^A calloc \d+ \d+ \d+ 700$/,
  );
});

liveTest('--interval prints a live status line on stderr', async (t) => {
  const result = await memtrace([
    'malloc',
    '--interval',
    '200ms',
    '-o',
    temporary('r.json'),
    '--',
    buildWorkload('known-allocs'),
    '--linger',
    '1',
  ]);
  t.regex(`${result.stderr}`, /memtrace: [\d,]+ calls\/s, [\d,]+ calls, [\d,]+ B outstanding, 0 lost events/);
});

liveTest('--raw-out is re-rendered by memtrace report into the same profile', async (t) => {
  const output = temporary('live.json');
  const raw = temporary('raw.ndjson');
  await memtrace(['malloc', '--raw-out', raw, '-o', output, '--', buildWorkload('known-allocs')]);
  const rendered = temporary('offline.json');
  const report = await execaReport(['report', raw, '-o', rendered]);
  t.is(report.exitCode, 0, `${report.stderr}`);
  const live = readProfile(output);
  const offline = readProfile(rendered);
  t.deepEqual(offline.totals, live.totals);
  t.deepEqual(offline.functions, live.functions);
  t.deepEqual(offline.stacks, live.stacks);
  t.deepEqual(offline.target, live.target);
});

function execaReport(args: string[]) {
  return memtrace(args);
}

liveTest('a launched command that stops itself is continued, and the report says so', async (t) => {
  const output = temporary('report.json');
  const result = await memtrace(['malloc', '-o', output, '--', '/bin/sh', '-c', 'kill -STOP $$; echo resumed']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  t.regex(`${result.stdout}`, /^resumed$/m);
  const profile = readProfile(output);
  t.true(profile.notes.some((note) => /was found stopped without memtrace's exit-hold marker; memtrace continued it/.test(note)));
});

liveTest('--mmap adds mmap and munmap, exactly', async (t) => {
  const output = temporary('report.json');
  const result = await memtrace(['malloc', '--mmap', '-o', output, '--', buildWorkload('mmap-allocs')]);
  t.is(result.exitCode, 0, `${result.stderr}`);
  const profile = readProfile(output);
  const functions = functionsByName(profile);
  t.deepEqual(functions.mmap, { calls: 11, bytes: 11 * 65_536, failed: 0 });
  t.deepEqual(functions.munmap, { calls: 4, bytes: 0, failed: 0 });
  t.deepEqual(
    { ...stacksOf(profile, 'map_regions'), stacks: undefined },
    { allocs: 11, allocBytes: 11 * 65_536, outstanding: 7, outstandingBytes: 7 * 65_536, stacks: undefined },
  );
  t.deepEqual(profile.notes, []);
});
