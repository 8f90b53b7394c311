// The faults program generator: its checked-in standalone script, the values it accepts, and
// bpftrace 0.17 compiling what it renders without a warning.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { buildFaultsSpec } from '../../src/probes/faults-spec.js';
import { FAULTS_RESULT_MAPS, renderFaultsBpf } from '../../src/probes/render-faults-bpf.js';
import { renderStandaloneFaultsScript } from '../../src/tools/faults/script.js';
import { LIVE_BPFTRACE, liveMapDeclarations, liveTest, tracerWarnings, compileOnlyArgs } from '../helpers/live.js';
import { ROOT } from '../helpers/workloads.js';

test('the checked-in scripts/bpf/faults.bt is the generator output for default options', (t) => {
  t.is(readFileSync(join(ROOT, 'scripts/bpf/faults.bt'), 'utf8'), renderStandaloneFaultsScript());
});

test('the standalone script takes the pid as $1 and has no exit hold', (t) => {
  const script = renderStandaloneFaultsScript();
  t.is(script.match(/\/pid == \$1/g)?.length, 7);
  t.false(script.includes('uprobe:'));
  t.false(script.includes('signal('));
});

test('a traced PID is written into every predicate; the hold stops the target in exit', (t) => {
  const program = renderFaultsBpf(
    buildFaultsSpec({ pid: 4242, holdAtExit: { library: '/usr/lib/x86_64-linux-gnu/libc.so.6', symbol: 'exit' } }),
  );
  t.is(program.match(/\/pid == 4242/g)?.length, 8);
  t.true(
    program.includes(
      'uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:exit\n/pid == 4242/\n{\n  printf("memtrace:hold %d\\n", pid);\n  signal("SIGSTOP");\n}',
    ),
  );
});

test('END prints every result map once between the markers, then clears them and the scratch maps', (t) => {
  const program = renderFaultsBpf(buildFaultsSpec({ pid: 1 }));
  const end = program.slice(program.indexOf('END\n'));
  t.deepEqual(
    [...end.matchAll(/print\((@\w+)\)/g)].map((match) => match[1]),
    [...FAULTS_RESULT_MAPS],
  );
  t.is([...end.matchAll(/clear\(/g)].length, FAULTS_RESULT_MAPS.length + 3);
  t.true(end.indexOf('memtrace:end') < end.indexOf('print(') && end.lastIndexOf('print(') < end.indexOf('memtrace:done'));
});

test('page size and stack depth reach the program as validated integers', (t) => {
  const program = renderFaultsBpf(buildFaultsSpec({ pid: 1, stackDepth: 7, pageSize: 16384 }));
  t.true(program.includes('@stack_resident_bytes[$stack] = sum(16384);'));
  t.true(program.includes('(args->len + 16383) / 16384 * 16384'));
  t.true(program.includes('while ($depth < 7 && $fp != 0)'));
});

const invalid = test.macro((t, options: Parameters<typeof buildFaultsSpec>[0], message: RegExp) => {
  t.throws(() => buildFaultsSpec(options), { instanceOf: UsageError, message });
});
test('a PID of 0 is refused', invalid, { pid: 0 }, /--pid: expected a whole number from 1/);
test('a PID with shell text is refused', invalid, { pid: '1; rm' as unknown as number }, /--pid/);
test('a page size that is not a power of two is refused', invalid, { pid: 1, pageSize: 5000 }, /power of two/);
test(
  'a stack depth of 1 is refused (the leaf and its caller at least)',
  invalid,
  { pid: 1, stackDepth: 1 },
  /--stack-depth: expected a whole number from 2 to 64/,
);
test(
  'an exit-hold library path with a colon is refused',
  invalid,
  { pid: 1, holdAtExit: { library: '/lib/x:y.so', symbol: 'exit' } },
  /exit hold: expected an absolute path/,
);
test(
  'an exit-hold symbol with punctuation is refused',
  invalid,
  { pid: 1, holdAtExit: { library: '/lib/libc.so.6', symbol: 'exit(){' } },
  /exit hold: expected a symbol name/,
);

test('declared small maps: @fault_kinds sized to the 8 combinations of the 3 error-code bits it keeps; the stack maps left to --map-entries', (t) => {
  const script = renderFaultsBpf(buildFaultsSpec({ pid: 4242, declareSmallMaps: true }));
  t.deepEqual(script.match(/^let .*$/gm), ['let @fault_kinds = percpuhash(8);']);
  const bits = Number(/@fault_kinds\[args->error_code & (0x[0-9a-f]+)\]/.exec(script)![1]);
  t.is(2 ** bits.toString(2).replaceAll('0', '').length, 8);
  t.true(script.indexOf('let @fault_kinds') < script.indexOf('BEGIN'));
  t.false(renderFaultsBpf(buildFaultsSpec({ pid: 4242 })).includes('let @'));
});

liveTest('bpftrace compiles the program, with the exit hold, without a warning', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const program = join(directory, 'program.bt');
  writeFileSync(
    program,
    renderFaultsBpf(
      buildFaultsSpec({
        pid: 1,
        holdAtExit: { library: '/usr/lib/x86_64-linux-gnu/libc.so.6', symbol: 'exit' },
        declareSmallMaps: liveMapDeclarations(),
      }),
    ),
  );
  const result = spawnSync(LIVE_BPFTRACE, ['--unsafe', ...compileOnlyArgs(join(directory, 'program.o')), program], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.deepEqual(tracerWarnings(result.stderr), []);
});

liveTest('bpftrace compiles the standalone script', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
  const result = spawnSync(LIVE_BPFTRACE, [...compileOnlyArgs(join(directory, 'x.o')), join(ROOT, 'scripts/bpf/faults.bt'), '1'], {
    encoding: 'utf8',
  });
  t.is(result.status, 0, result.stderr);
  t.deepEqual(tracerWarnings(result.stderr), []);
});
