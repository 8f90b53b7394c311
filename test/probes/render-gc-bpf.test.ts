import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { buildGcSpec, type GcSpecOptions } from '../../src/probes/gc-spec.js';
import { renderGcBpf } from '../../src/probes/render-gc-bpf.js';
import { NODE20_GC_SYMBOL, renderStandaloneGcScript } from '../../src/tools/gc/script.js';
import { LIVE_BPFTRACE, liveTest, compileOnlyArgs } from '../helpers/live.js';
import { buildWorkload, ROOT } from '../helpers/workloads.js';

const SYMBOL_OPTIONS: GcSpecOptions = { binary: '/usr/bin/node', pid: 4242, probe: { kind: 'symbol', symbol: NODE20_GC_SYMBOL } };

test('symbol probes: entry and return on the found symbol, filtered by pid, collector and reason from arg1 and arg2', (t) => {
  const script = renderGcBpf(buildGcSpec(SYMBOL_OPTIONS));
  t.true(script.includes(`uprobe:/usr/bin/node:${NODE20_GC_SYMBOL}\n/pid == 4242/`));
  t.true(script.includes(`uretprobe:/usr/bin/node:${NODE20_GC_SYMBOL}\n/pid == 4242 && @gc[tid].0 != 0/`));
  t.true(script.includes('@gc[tid] = (nsecs, (int64)(int32)arg1, (int64)(int32)arg2, $rss);'));
  t.true(script.includes('printf("G %lu %lu %d %ld %ld %ld %ld\\n", $gc.0, nsecs - $gc.0, tid, $gc.1, $gc.2, $gc.3, $after);'));
  t.true(script.includes('($mm->rss_stat[0].count + $mm->rss_stat[1].count + $mm->rss_stat[3].count) * 4096'));
  t.false(script.includes('interval:'));
});

test('usdt probes: gc__start and gc__done, the GCType from arg0 and no reason', (t) => {
  const script = renderGcBpf(buildGcSpec({ ...SYMBOL_OPTIONS, probe: { kind: 'usdt' } }));
  t.true(script.includes('usdt:/proc/4242/root/usr/bin/node:node:gc__start\n/pid == 4242/'));
  t.true(script.includes('usdt:/proc/4242/root/usr/bin/node:node:gc__done\n/pid == 4242 && @gc[tid].0 != 0/'));
  t.true(script.includes('@gc[tid] = (nsecs, (int64)(int32)arg0, (int64)-1, $rss);'));
});

test("a duration ends the program from inside; the page size is the machine's", (t) => {
  const script = renderGcBpf(buildGcSpec({ ...SYMBOL_OPTIONS, durationMs: 1500, pageSize: 16384 }));
  t.true(script.includes('interval:ms:1500\n{\n  exit();\n}'));
  t.true(script.includes('* 16384;'));
});

const refused = test.macro((t, options: Partial<GcSpecOptions>, message: RegExp) => {
  t.throws(() => buildGcSpec({ ...SYMBOL_OPTIONS, ...options }), { message });
});
test(
  'a symbol that would leave the probe specifier',
  refused,
  { probe: { kind: 'symbol', symbol: 'foo/ { system("id") } uprobe:x:y' } },
  /gc symbol: expected a symbol name/,
);
test(
  'a demangled name instead of a symbol',
  refused,
  { probe: { kind: 'symbol', symbol: 'v8::internal::Heap::PerformGarbageCollection' } },
  /gc symbol: expected a symbol name/,
);
test('a binary path with a colon', refused, { binary: '/usr/bin/node:x' }, /node binary: expected an absolute path/);
test('a relative binary path', refused, { binary: 'node' }, /node binary: expected an absolute path/);
test('a pid of zero', refused, { pid: 0 }, /--pid: expected a whole number from 1/);

test('the checked-in scripts/bpf/gc.bt is the generator output for Node 20 at /usr/bin/node', (t) => {
  t.is(readFileSync(join(ROOT, 'scripts/bpf/gc.bt'), 'utf8'), renderStandaloneGcScript());
});

test('the standalone script takes the pid as $1', (t) => {
  t.true(renderStandaloneGcScript().includes(`uprobe:/usr/bin/node:${NODE20_GC_SYMBOL}\n/pid == $1/`));
});

liveTest('bpftrace compiles the standalone script and the usdt variant', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const standalone = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'x.o')), join(ROOT, 'scripts/bpf/gc.bt'), '1'], {
    encoding: 'utf8',
  });
  t.is(standalone.status, 0, standalone.stderr);
  t.false(/ERROR: (?!.*RLIMIT_MEMLOCK)/.test(standalone.stderr), standalone.stderr);
  const program = join(directory, 'symbol.bt');
  writeFileSync(program, renderGcBpf(buildGcSpec({ ...SYMBOL_OPTIONS, durationMs: 1000 })));
  const symbol = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'y.o')), program], { encoding: 'utf8' });
  t.is(symbol.status, 0, symbol.stderr);
  const usdtProgram = join(directory, 'usdt.bt');
  writeFileSync(usdtProgram, renderGcBpf(buildGcSpec({ binary: buildWorkload('usdt-gc'), pid: null, probe: { kind: 'usdt' } })));
  const usdt = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'z.o')), usdtProgram, '1'], { encoding: 'utf8' });
  t.is(usdt.status, 0, usdt.stderr);
});
