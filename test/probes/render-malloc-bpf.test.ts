import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildMallocSpec, type MallocSpecOptions } from '../../src/probes/malloc-spec.js';
import { renderMallocBpf } from '../../src/probes/render-malloc-bpf.js';
import { renderStandaloneMallocScript } from '../../src/tools/malloc/script.js';
import { LIVE_BPFTRACE, LIVE_DWARF, liveMapDeclarations, liveTest, tracerWarnings, compileOnlyArgs } from '../helpers/live.js';
import { ROOT } from '../helpers/workloads.js';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const GLIBC_ADDRESSES = new Map<string, bigint>([
  ['malloc', 0x98930n],
  ['free', 0x98ef0n],
  ['realloc', 0x99130n],
  ['aligned_alloc', 0x99610n],
  ['memalign', 0x99610n],
  ['valloc', 0x99650n],
  ['pvalloc', 0x99680n],
  ['calloc', 0x996e0n],
  ['posix_memalign', 0x9a280n],
  ['reallocarray', 0x9a7e0n],
  ['mmap', 0x1019a0n],
  ['munmap', 0x101a00n],
  ['exit', 0x3c610n],
]);

const VARIANTS: Record<string, Partial<MallocSpecOptions>> = {
  'frames default': {},
  'frames, sampled, sized, events, status, duration, mmap, timeline': {
    sampleEvery: 7,
    minSize: 64,
    maxSize: 65_536,
    events: true,
    statusIntervalMs: 500,
    durationMs: 1500,
    mmap: true,
    timelineIntervalMs: 250,
  },
  'frames, free body probes, exit hold': { free: { mode: 'body', bodySymbol: 'free', nullSymbol: null }, holdAtExitSymbol: 'exit' },
  'frames, free at offsets, counted from the exec, exit hold': {
    free: { mode: 'offset', bodyOffset: 9, nullOffset: 200 },
    fromExec: true,
    holdAtExitSymbol: 'exit',
  },
  ustack: { stackMode: 'ustack' },
  'ustack, depth 3, sampled': { stackMode: 'ustack', stackDepth: 3, sampleEvery: 2 },
};

/** Programs that unwind with DWARF: compiled only by a bpftrace that has dw_ustack (0.26 and later). */
const DWARF_VARIANTS: Record<string, Partial<MallocSpecOptions>> = {
  'dwarf default': { stackMode: 'dwarf' },
  'dwarf, sampled, sized, events, status, duration, mmap, free at offsets, timeline': {
    stackMode: 'dwarf',
    timelineIntervalMs: 250,
    sampleEvery: 7,
    minSize: 64,
    maxSize: 65_536,
    events: true,
    statusIntervalMs: 500,
    durationMs: 1500,
    mmap: true,
    free: { mode: 'offset', bodyOffset: 9, nullOffset: 200 },
    holdAtExitSymbol: 'exit',
  },
};

function render(options: Partial<MallocSpecOptions>): string {
  return renderMallocBpf(buildMallocSpec({ library: LIBC, pid: 4242, symbolAddresses: GLIBC_ADDRESSES, stackMode: 'frames', ...options }));
}

test('functions sharing an address are probed once, under both names', (t) => {
  const script = render({});
  t.is(script.match(/^uprobe:\/lib\/x86_64-linux-gnu\/libc\.so\.6:aligned_alloc$/gm)?.length, 1);
  t.false(/:memalign$/m.test(script));
  t.true(script.includes('@calls["aligned_alloc/memalign"]'));
});

test('every probe filters on the pid, as a literal', (t) => {
  const script = render({});
  const predicates = script.match(/^\/.*\/$/gm) ?? [];
  // 8 allocation functions (aligned_alloc and memalign are one) with entry and return, and free.
  t.is(predicates.length, 17);
  for (const predicate of predicates) t.true(predicate.startsWith('/pid == 4242'), predicate);
});

test('offset uprobes: free is probed past its NULL test and at its NULL return, counted apart', (t) => {
  const script = render({ free: { mode: 'offset', bodyOffset: 9, nullOffset: 200 } });
  t.deepEqual(script.match(/^uprobe:.*:free.*$/gm), [
    'uprobe:/lib/x86_64-linux-gnu/libc.so.6:free+9',
    'uprobe:/lib/x86_64-linux-gnu/libc.so.6:free+200',
  ]);
  t.regex(
    script,
    /:free\+200\n\/pid == 4242\/\n\{\n {2}if \(@in\[tid\]\.0 == 0\) \{\n {4}@calls\["free"\] = count\(\);\n {4}@free_null = count\(\);/,
  );
  t.true(script.includes('print(@free_null);'));
  const noNull = render({ free: { mode: 'offset', bodyOffset: 9, nullOffset: null } });
  t.false(noNull.includes('@free_null'), 'free(NULL) unseen: the map is neither kept nor printed');
});

test('offsets outside the NULL test region are refused before any script is written', (t) => {
  for (const bodyOffset of [0, -1, 4097, 1.5, Number.NaN]) {
    t.throws(
      () => render({ free: { mode: 'offset', bodyOffset, nullOffset: null } }),
      { message: /free probe offset/ },
      String(bodyOffset),
    );
  }
});

test('counted from the exec: every probe waits for the exec tracepoint of the PID, and the flag is cleared at the end', (t) => {
  const script = render({ fromExec: true, holdAtExitSymbol: 'exit' });
  t.true(script.includes('tracepoint:sched:sched_process_exec\n/pid == 4242/\n{\n  @exec_seen = 1;\n}'));
  const predicates = (script.match(/^\/.*\/$/gm) ?? []).filter((predicate) => predicate !== '/pid == 4242/');
  t.is(predicates.length, 18, 'the 17 allocator probes and the exit hold');
  for (const predicate of predicates) t.true(predicate.startsWith('/pid == 4242 && @exec_seen == 1'), predicate);
  t.true(script.includes('clear(@exec_seen);'));
  t.false(render({}).includes('@exec_seen'));
});

test('the frame walk is bounded by the stack depth, and stacks are keyed by their hash', (t) => {
  const script = render({ stackDepth: 5 });
  t.is(script.match(/while \(\$depth < 5 && \$fp != 0\) \{/g)?.length, 2 * 8);
  t.true(script.includes('if ($depth == 5 && $fp != 0 && *(uint64 *)($fp + 8) != 0) { @truncated = count(); }'));
  t.true(script.includes('@stack_allocs[$stack] = count();'));
  t.true(script.includes('@live[$addr] = ($size, nsecs, $stack);'));
});

test("--timeline: each block's bytes summed by stack when allocated and when freed, both sums printed at every tick and at the end", (t) => {
  const script = render({ timelineIntervalMs: 500 });
  t.is(script.match(/@timeline_alloc\[\$stack\] = sum\(\$size\);/g)?.length, 8, 'at each allocator return');
  t.true(
    script.includes(
      'if ($live.1 != 0) {\n        @live_frees = count();\n        @live_freed_bytes = sum($live.0);\n        @timeline_freed[$live.2] = sum($live.0);',
    ),
  );
  t.true(
    script.includes(
      'interval:ms:500\n{\n  printf("memtrace:tick %lu 500\\n", nsecs);\n  print(@timeline_alloc);\n  print(@timeline_freed);\n  printf("memtrace:tick-end\\n");\n}',
    ),
  );
  t.regex(script, /print\(@timeline_freed\);\n {2}printf\("memtrace:done\\n"\);/);
  t.true(script.includes('clear(@timeline_alloc);'));
  t.false(render({}).includes('timeline'));
});

test('--timeline: from 100 ms, and not with bpftrace ustack keys', (t) => {
  t.throws(() => render({ timelineIntervalMs: 99 }), { message: /--timeline: expected a whole number from 100/ });
  t.throws(() => render({ timelineIntervalMs: 500, stackMode: 'ustack' }), {
    message: /--timeline needs stacks walked by memtrace or unwound with DWARF/,
  });
});

test('mmap is probed only when asked', (t) => {
  t.false(render({}).includes(':mmap'));
  t.true(render({ mmap: true }).includes('uretprobe:/lib/x86_64-linux-gnu/libc.so.6:mmap'));
});

test('functions the library lacks are not probed', (t) => {
  const script = renderMallocBpf(
    buildMallocSpec({
      library: LIBC,
      pid: 1,
      symbolAddresses: new Map([
        ['malloc', 1n],
        ['free', 2n],
      ]),
    }),
  );
  t.deepEqual(script.match(/^u(?:ret)?probe:[^\n]*$/gm), [`uprobe:${LIBC}:malloc`, `uretprobe:${LIBC}:malloc`, `uprobe:${LIBC}:free`]);
});

test('a library defining no allocation function is refused', (t) => {
  t.throws(() => buildMallocSpec({ library: LIBC, pid: 1, symbolAddresses: new Map([['free', 2n]]) }), {
    message: /defines none of the allocator functions/,
  });
});

test('min-size larger than max-size is refused', (t) => {
  t.throws(() => render({ minSize: 10, maxSize: 5 }), { message: /--min-size \(10\) is larger than --max-size \(5\)/ });
});

test('the checked-in scripts/bpf/malloc.bt is the generator output for default options', (t) => {
  t.is(readFileSync(join(ROOT, 'scripts/bpf/malloc.bt'), 'utf8'), renderStandaloneMallocScript());
});

test('the standalone script takes the pid as $1 and names the library "libc"', (t) => {
  const script = renderStandaloneMallocScript();
  t.true(script.includes('uprobe:libc:malloc\n/pid == $1/'));
  t.true(script.includes('@stack_allocs[ustack(perf, 24)] = count();'));
});

for (const [name, options] of Object.entries(VARIANTS)) {
  liveTest(`bpftrace compiles the program: ${name}`, (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
    const program = join(directory, 'program.bt');
    // Written as memtrace writes it for this bpftrace: with its small maps declared where it takes that.
    writeFileSync(program, render({ declareSmallMaps: liveMapDeclarations(), ...options }));
    const result = spawnSync(LIVE_BPFTRACE, ['--unsafe', ...compileOnlyArgs(join(directory, 'program.o')), program], { encoding: 'utf8' });
    t.is(result.status, 0, result.stderr);
    t.false(/ERROR: (?!.*RLIMIT_MEMLOCK)/.test(result.stderr), result.stderr);
    t.deepEqual(tracerWarnings(result.stderr), []);
  });
}

for (const [name, options] of Object.entries(LIVE_DWARF ? DWARF_VARIANTS : {})) {
  liveTest(`bpftrace compiles the program: ${name}`, (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
    const program = join(directory, 'program.bt');
    writeFileSync(program, render({ declareSmallMaps: liveMapDeclarations(), ...options }));
    // dw_ustack needs a target process to build unwind tables for: this test's own.
    const result = spawnSync(LIVE_BPFTRACE, ['--unsafe', ...compileOnlyArgs(join(directory, 'program.o'), process.pid), program], {
      encoding: 'utf8',
    });
    t.is(result.status, 0, result.stderr);
    t.deepEqual(tracerWarnings(result.stderr), []);
  });
}

test('declared small maps: each per-function map sized to the keys the program writes, the histogram to its buckets; the stack maps left to --map-entries', (t) => {
  for (const options of [{}, { mmap: true }, { stackMode: 'dwarf' as const }]) {
    const script = render({ ...options, declareSmallMaps: true });
    const declared = new Map([...script.matchAll(/^let (@\w+) = percpuhash\((\d+)\);$/gm)].map((m) => [m[1]!, Number(m[2])]));
    t.deepEqual([...declared.keys()], ['@calls', '@bytes', '@failed', '@size_hist']);
    for (const name of ['@calls', '@bytes', '@failed']) {
      const keys = new Set([...script.matchAll(new RegExp(`${name}\\[("[^"]*")\\]`, 'g'))].map((m) => m[1]));
      t.true(keys.size > 0, name);
      t.is(declared.get(name), keys.size, `${name}: ${[...keys].join(' ')}`);
    }
    t.is(declared.get('@size_hist'), 66);
    // After the config block (dwarf), before any probe.
    t.true(script.indexOf('let @calls') < script.indexOf('BEGIN'));
    if (options.stackMode === 'dwarf') t.true(script.indexOf('config = {') < script.indexOf('let @calls'));
  }
  t.false(render({}).includes('let @'), 'not where the bpftrace takes no declarations');
});

test('dwarf mode: one dw_ustack per allocation, as the key of the stack maps and in the live tuple; cut stacks counted; enabled by config', (t) => {
  const script = render({ stackMode: 'dwarf', stackDepth: 16 });
  t.true(script.startsWith('config = {\n  unstable_dw_ustack = enable\n}\n'), script.slice(0, 80));
  t.is(script.match(/dw_ustack\(raw, 16\)/g)?.length, script.match(/^uretprobe:/gm)?.length);
  t.true(script.includes('@stack_allocs[$stack] = count();'));
  t.true(script.includes('@live[$addr] = ($size, nsecs, $stack);'));
  t.true(script.includes('if (len($stack) == 16) {\n      @truncated = count();'), script);
  t.false(script.includes('@stack_frames'));
  t.false(script.includes('while'));
  t.false(script.includes('@live_stack'));
});

liveTest('bpftrace compiles the standalone script', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const result = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'x.o')), join(ROOT, 'scripts/bpf/malloc.bt'), '1'], {
    encoding: 'utf8',
  });
  t.is(result.status, 0, result.stderr);
});
