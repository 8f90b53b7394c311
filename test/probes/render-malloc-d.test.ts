// The D generator: golden files for a few option sets (regenerate with MEMTRACE_UPDATE_GOLDEN=1 after
// an intended change), the checked-in scripts kept equal to the generator, and hostile values that
// must never reach a script. No DTrace runs here (no macOS): `dtrace -e -s` compile checks are left
// to a Mac; see docs/tools/dtrace.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { buildMallocSpec, type MallocSpecOptions } from '../../src/probes/malloc-spec.js';
import { DEFAULT_MALLOC_D_OPTIONS, pidProviderModule, renderMallocD, type MallocDOptions } from '../../src/probes/render-malloc-d.js';
import { renderPyMallocD } from '../../src/probes/render-pymalloc-d.js';
import { darwinMallocSpecOptions, renderStandaloneMallocD } from '../../src/tools/malloc/d-script.js';
import { renderStandalonePyMallocD } from '../../src/tools/malloc/pymalloc-d-script.js';
import { fixture, ROOT } from '../helpers/workloads.js';
import { GOLDEN_SETS } from '../helpers/dtrace-golden.js';

function render(options: Partial<MallocSpecOptions>, dOptions: MallocDOptions = DEFAULT_MALLOC_D_OPTIONS): string {
  return renderMallocD(buildMallocSpec({ ...darwinMallocSpecOptions(), pid: 4242, stackMode: 'ustack', ...options }), dOptions);
}

const golden = test.macro((t, name: string, options: Partial<MallocSpecOptions>, dOptions?: MallocDOptions) => {
  const path = fixture(`dtrace/golden/${name}.d`);
  const script = render(options, dOptions);
  if (process.env.MEMTRACE_UPDATE_GOLDEN === '1') writeFileSync(path, script);
  t.true(existsSync(path), `${path} is missing: run with MEMTRACE_UPDATE_GOLDEN=1 once, and read what it wrote`);
  t.is(script, readFileSync(path, 'utf8'));
});

for (const set of GOLDEN_SETS) test(`golden: ${set.title}`, golden, set.name, set.options, set.dOptions);

test('thread-local variables are declared with their types (a first assignment of 0 would make ptr an int)', (t) => {
  const script = render({});
  t.true(script.includes('\nself uint64_t ptr;\n'));
  t.true(script.indexOf('self uint64_t ptr;') < script.indexOf('self->ptr ='));
});

test('frames named by memtrace: noresolve, and BEGIN prints the traced PID; not on macOS', (t) => {
  const linux = render({}, { ...DEFAULT_MALLOC_D_OPTIONS, frames: 'addresses' });
  t.true(linux.includes('#pragma D option noresolve\n'));
  t.true(linux.includes('printf("memtrace:pid %d\\n", 4242);'));
  const launched = renderMallocD(buildMallocSpec({ ...darwinMallocSpecOptions(), pid: null, stackMode: 'ustack' }), {
    ...DEFAULT_MALLOC_D_OPTIONS,
    frames: 'addresses',
  });
  t.true(launched.includes('printf("memtrace:pid %d\\n", $target);'));
  const mac = render({});
  t.false(mac.includes('noresolve'));
  t.false(mac.includes('memtrace:pid'));
});

test('every probe is a pid-provider probe on the process, in libsystem_malloc', (t) => {
  const probes = render({}).match(/^pid[^\n]*$/gm) ?? [];
  // 6 allocation functions of 1 entry and 5 return clauses, realloc 2 more (its old block); free 3.
  t.is(probes.length, 6 * 6 + 2 + 3);
  for (const probe of probes)
    t.regex(probe, /^pid4242:libsystem_malloc\.dylib:(malloc|calloc|realloc|valloc|posix_memalign|aligned_alloc|free):(entry|return)$/);
});

test('the stack depth bounds every ustack()', (t) => {
  const script = render({ stackDepth: 5 });
  t.is(script.match(/ustack\(5\)/g)?.length, 3 * 6);
  t.false(/ustack\((?!5\))/.test(script));
});

test('--sample keeps 1 allocation in N per thread for stacks and records, totals stay exact', (t) => {
  const script = render({ sampleEvery: 7 });
  t.is(script.match(/self->seq % 7 == 1/g)?.length, 6);
  t.is(script.match(/@ok_allocs = count\(\);/g)?.length, 6);
});

test('size filters are a condition on the call, and the calls outside count 0', (t) => {
  const script = render({ minSize: 64, maxSize: 4096 });
  t.is(script.match(/self->keep = \(self->size >= 64 && self->size <= 4096\) \? 1 : 0;/g)?.length, 6);
});

test('--duration ends the trace from inside the program', (t) => {
  t.true(render({ durationMs: 2500 }).includes('tick-2500ms\n{\n  exit(0);\n}'));
  t.false(render({}).includes('tick-'));
});

test('the standalone script traces $target and is the checked-in scripts/dtrace/malloc.d', (t) => {
  const script = renderStandaloneMallocD();
  t.true(script.includes('pid$target:libsystem_malloc.dylib:malloc:entry\n/self->fn == 0/'));
  t.is(readFileSync(join(ROOT, 'scripts/dtrace/malloc.d'), 'utf8'), script);
});

test('the Python flow script is the checked-in scripts/dtrace/pymalloc.d', (t) => {
  const script = renderStandalonePyMallocD();
  t.true(script.includes('python$target:::function-entry'));
  t.true(script.includes('printa("py\\t%s\\t%s\\t%d\\t%@d\\t%@d\\t%@d\\n", @py_allocs, @py_bytes, @py_frees);'));
  t.is(readFileSync(join(ROOT, 'scripts/dtrace/pymalloc.d'), 'utf8'), script);
});

test('the Python flow script takes the pid and --min-size as validated numbers', (t) => {
  const spec = buildMallocSpec({ ...darwinMallocSpecOptions(), pid: 77, minSize: 1024 });
  const script = renderPyMallocD(spec);
  t.true(script.includes('python77:::function-entry'));
  t.true(script.includes('/self->alloc_fn == 1 && arg1 != 0 && self->size >= 1024/'));
});

const refused = test.macro((t, make: () => unknown, message: RegExp) => {
  const error = t.throws(make, { instanceOf: UsageError });
  t.regex(error!.message, message);
});

test(
  'a prefix with a quote and D code never reaches a script',
  refused,
  () => render({ prefix: 'x"); system("id' }),
  /--prefix: expected a symbol prefix/,
);
test('a prefix with a newline never reaches a script', refused, () => render({ prefix: 'je_\nBEGIN' }), /--prefix/);
test(
  'a module with a colon never reaches a probe description',
  refused,
  () => render({ library: 'libsystem_malloc.dylib:malloc' }),
  /--lib/,
);
test(
  'a module path whose name starts with a dash is refused',
  refused,
  () => pidProviderModule('/tmp/-x'),
  /--lib: expected a module name/,
);
test('a negative --min-size is refused', refused, () => render({ minSize: -1 }), /--min-size: expected a whole number/);
test('a pid with D code is refused', refused, () => render({ pid: '1:::entry { system("id") }' as unknown as number }), /--pid/);
test('a fractional sample is refused', refused, () => render({ sampleEvery: 1.5 }), /--sample/);
test(
  'a buffer size with D code is refused',
  refused,
  () =>
    renderMallocD(buildMallocSpec({ ...darwinMallocSpecOptions(), pid: 1 }), {
      bufferSize: '4m\n#pragma D option destructive',
      dynamicVariableSize: '4m',
    }),
  /DTrace buffer size/,
);
test(
  '--mmap is refused for DTrace',
  refused,
  () => renderMallocD(buildMallocSpec({ library: 'libsystem_malloc.dylib', pid: 1, mmap: true })),
  /--mmap is not available with DTrace/,
);
test('--events is refused for DTrace', refused, () => render({ events: true }), /--events is not available with DTrace/);
