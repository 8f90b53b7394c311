import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildExternalSpec, type ExternalFunctionName } from '../../src/probes/external-spec.js';
import { renderExternalBpf } from '../../src/probes/render-external-bpf.js';
import { renderStandaloneExternalScript } from '../../src/tools/external/script.js';
import { LIVE_BPFTRACE, liveMapDeclarations, liveTest, tracerWarnings, compileOnlyArgs } from '../helpers/live.js';
import { ROOT } from '../helpers/workloads.js';

const SYMBOLS = new Map<ExternalFunctionName, string>([
  ['Allocate', '_ZN4node24NodeArrayBufferAllocator8AllocateEm'],
  ['AllocateUninitialized', '_ZN4node24NodeArrayBufferAllocator21AllocateUninitializedEm'],
  ['Free', '_ZN2v812_GLOBAL__N_120ArrayBufferAllocator4FreeEPvm'],
]);

test('the checked-in scripts/bpf/external.bt is the generator output for /usr/bin/node', (t) => {
  t.is(readFileSync(join(ROOT, 'scripts/bpf/external.bt'), 'utf8'), renderStandaloneExternalScript());
});

test('the program probes both allocators at entry and return, the frees at V8 Free, and prints the malloc maps', (t) => {
  const script = renderExternalBpf(
    buildExternalSpec({ binary: '/usr/bin/node', pid: 4242, symbols: SYMBOLS, stackMode: 'frames', durationMs: 1500 }),
  );
  t.deepEqual(
    script.split('\n').filter((line) => /^(uprobe|uretprobe|interval|BEGIN|END)/.test(line)),
    [
      'BEGIN',
      'uprobe:/usr/bin/node:_ZN4node24NodeArrayBufferAllocator8AllocateEm',
      'uretprobe:/usr/bin/node:_ZN4node24NodeArrayBufferAllocator8AllocateEm',
      'uprobe:/usr/bin/node:_ZN4node24NodeArrayBufferAllocator21AllocateUninitializedEm',
      'uretprobe:/usr/bin/node:_ZN4node24NodeArrayBufferAllocator21AllocateUninitializedEm',
      'uprobe:/usr/bin/node:_ZN2v812_GLOBAL__N_120ArrayBufferAllocator4FreeEPvm',
      'interval:ms:1500',
      'END',
    ],
  );
  t.true(script.includes('/pid == 4242 && arg1 != 0/'), 'Free(this, pointer, length): the pointer is arg1');
  t.true(script.includes('@in[tid] = (2, arg1);'), 'Allocate(this, size): the size is arg1');
  t.true(script.includes('printf("memtrace:begin external\\n");'));
  t.true(script.includes('print(@stack_frames);'));
});

test('a launched target holds itself in libc exit()', (t) => {
  const script = renderExternalBpf(
    buildExternalSpec({
      binary: '/usr/bin/node',
      pid: 7,
      symbols: SYMBOLS,
      holdAtExit: { library: '/lib/x86_64-linux-gnu/libc.so.6', symbol: 'exit' },
    }),
  );
  t.true(
    script.includes(
      'uprobe:/lib/x86_64-linux-gnu/libc.so.6:exit\n/pid == 7/\n{\n  printf("memtrace:hold %d\\n", pid);\n  signal("SIGSTOP");\n}',
    ),
  );
});

test('a symbol or path outside the grammar never reaches the script', (t) => {
  const bad = new Map(SYMBOLS);
  bad.set('Free', '_ZN2v8Free"); system("id');
  t.is(
    t.throws(() => buildExternalSpec({ binary: '/usr/bin/node', pid: 1, symbols: bad }))!.message,
    'symbol of v8::(anonymous namespace)::ArrayBufferAllocator::Free(void*, unsigned long): expected a symbol name of letters, digits, _ and . (starting with a letter or _), got "_ZN2v8Free\\"); system(\\"id"',
  );
  t.regex(
    t.throws(() => buildExternalSpec({ binary: '/usr/bin/no:de', pid: 1, symbols: SYMBOLS }))!.message,
    /^node binary: expected an absolute path/,
  );
  const missing = new Map(SYMBOLS);
  missing.delete('AllocateUninitialized');
  t.is(
    t.throws(() => buildExternalSpec({ binary: '/usr/bin/node', pid: 1, symbols: missing }))!.message,
    '/usr/bin/node: no symbol for node::NodeArrayBufferAllocator::AllocateUninitialized(unsigned long)',
  );
  t.throws(() => buildExternalSpec({ binary: '/usr/bin/node', pid: 0, symbols: SYMBOLS }), {
    message: /^--pid: expected a whole number from 1/,
  });
});

test("--timeline: the sums at V8 Allocate's return and Free, printed every tick", (t) => {
  const script = renderExternalBpf(
    buildExternalSpec({ binary: '/usr/bin/node', pid: 4242, symbols: SYMBOLS, stackMode: 'frames', timelineIntervalMs: 1000 }),
  );
  t.is(script.match(/@timeline_alloc\[\$stack\] = sum\(\$size\);/g)?.length, 2);
  t.is(script.match(/@timeline_freed\[\$live\.2\] = sum\(\$live\.0\);/g)?.length, 1);
  t.true(
    script.includes(
      'interval:ms:1000\n{\n  printf("memtrace:tick %lu 1000\\n", nsecs);\n  print(@timeline_alloc);\n  print(@timeline_freed);',
    ),
  );
});

test('declared small maps: the per-function maps sized to the 3 functions (2 allocating), the histogram to its buckets', (t) => {
  const script = renderExternalBpf(buildExternalSpec({ binary: '/usr/bin/node', pid: 4242, symbols: SYMBOLS, declareSmallMaps: true }));
  t.deepEqual(script.match(/^let .*$/gm), [
    'let @calls = percpuhash(3);',
    'let @bytes = percpuhash(2);',
    'let @failed = percpuhash(2);',
    'let @size_hist = percpuhash(66);',
  ]);
  t.false(renderExternalBpf(buildExternalSpec({ binary: '/usr/bin/node', pid: 4242, symbols: SYMBOLS })).includes('let @'));
});

liveTest('bpftrace compiles the memtrace program and the standalone script', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const program = join(directory, 'program.bt');
  writeFileSync(
    program,
    renderExternalBpf(
      buildExternalSpec({
        binary: '/usr/bin/node',
        pid: 1,
        symbols: SYMBOLS,
        stackMode: 'frames',
        timelineIntervalMs: 1000,
        holdAtExit: { library: '/lib/x86_64-linux-gnu/libc.so.6', symbol: 'exit' },
        declareSmallMaps: liveMapDeclarations(),
      }),
    ),
  );
  const generated = spawnSync(LIVE_BPFTRACE, ['--unsafe', ...compileOnlyArgs(join(directory, 'program.o')), program], { encoding: 'utf8' });
  t.is(generated.status, 0, generated.stderr);
  t.deepEqual(tracerWarnings(generated.stderr), []);
  const standalone = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'x.o')), join(ROOT, 'scripts/bpf/external.bt'), '1'], {
    encoding: 'utf8',
  });
  t.is(standalone.status, 0, standalone.stderr);
});
