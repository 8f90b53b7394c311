// Feature detection from the real `--info` and `--help` of Debian 12's bpftrace 0.17 and Debian 13's
// 0.23 (test/fixtures/bpftrace/*/info.txt, help.txt, recorded by record-0.23.sh and by hand for 0.17).
import { readFileSync } from 'node:fs';
import test from 'ava';
import {
  BASELINE_FEATURES,
  describeFeatures,
  parseBpftraceFeatures,
  probeBpftraceFeatures,
  settingsFor,
} from '../../src/run/bpftrace-features.js';
import { tracerComment } from '../../src/run/bpftrace.js';
import { uprobeScopeChoice } from '../../src/run/uprobe-scope.js';
import { fakeBpftrace } from '../helpers/fake-bpftrace.js';
import { fixture } from '../helpers/workloads.js';

const recorded = (version: string, name: string) => readFileSync(fixture(`bpftrace/${version}/${name}`), 'utf8');
const features017 = parseBpftraceFeatures(recorded('debian12-0.17', 'info.txt'), recorded('debian12-0.17', 'help.txt'));
const features023 = parseBpftraceFeatures(recorded('debian13-0.23', 'info.txt'), recorded('debian13-0.23', 'help.txt'));
const features027 = parseBpftraceFeatures(recorded('debian-testing-0.27', 'info.txt'), recorded('debian-testing-0.27', 'help.txt'));

test('bpftrace 0.17 (Debian 12): none of the newer mechanisms, the old setting names', (t) => {
  t.deepEqual(features017, BASELINE_FEATURES);
  t.deepEqual(settingsFor(features017, { BPFTRACE_MAP_KEYS_MAX: '8', BPFTRACE_PERF_RB_PAGES: '64' }), {
    BPFTRACE_MAP_KEYS_MAX: '8',
    BPFTRACE_PERF_RB_PAGES: '64',
  });
});

test('bpftrace 0.23 (Debian 13): offset and per-PID uprobes, renamed settings, raw stacks', (t) => {
  t.true(features023.offsetUprobes);
  t.true(features023.pidScopedUprobes);
  t.deepEqual(features023.stackModes, ['bpftrace', 'perf', 'raw']);
  t.deepEqual(settingsFor(features023, { BPFTRACE_MAP_KEYS_MAX: '8', BPFTRACE_STRLEN: '120', BPFTRACE_PERF_RB_PAGES: '64' }), {
    BPFTRACE_MAX_MAP_KEYS: '8',
    BPFTRACE_MAX_STRLEN: '120',
    BPFTRACE_PERF_RB_PAGES: '64',
  });
});

test("bpftrace 0.27 (Debian testing): DWARF stacks besides 0.23's mechanisms; 0.17 and 0.23 have none", (t) => {
  t.true(features027.dwarfStacks);
  t.true(features027.offsetUprobes);
  t.true(features027.pidScopedUprobes);
  t.false(features023.dwarfStacks);
  t.false(features017.dwarfStacks);
  t.false(parseBpftraceFeatures('  dwunwind (DWARF stack unwinding): no\n', '').dwarfStacks);
  // 0.27's --help lists no BPFTRACE_ setting (they became config options) and it reads only the new
  // names: the old BPFTRACE_MAP_KEYS_MAX was ignored (a map of 5 keys took 7).
  t.deepEqual(settingsFor(features027, { BPFTRACE_MAP_KEYS_MAX: '8', BPFTRACE_PERF_RB_PAGES: '64' }), {
    BPFTRACE_MAX_MAP_KEYS: '8',
    BPFTRACE_PERF_RB_PAGES: '64',
  });
  t.deepEqual(features027.stackModes, ['bpftrace', 'perf', 'raw']);
});

test('map declarations: taken when bpftrace compiled the probe program (0.27), never from --info or --help, which do not say', (t) => {
  t.false(features027.mapDeclarations);
  t.false(features023.mapDeclarations);
  const compiled = parseBpftraceFeatures(recorded('debian-testing-0.27', 'info.txt'), recorded('debian-testing-0.27', 'help.txt'), true);
  t.deepEqual(compiled, { ...features027, mapDeclarations: true });
  t.true(describeFeatures(compiled).includes('map declarations: yes'));
  t.true(describeFeatures(features017).includes('map declarations: no (every map takes the one size setting)'));
});

test('a feature reported "no" is not taken for "yes" when it shares a line with a "yes"', (t) => {
  const features = parseBpftraceFeatures('Build\n  bfd: no\nProbe types\n  kprobe_multi: yes   uprobe_multi: no\n', '');
  t.false(features.offsetUprobes);
  t.false(features.pidScopedUprobes);
});

test('empty, truncated or garbled answers leave the baseline: memtrace never assumes a feature', (t) => {
  t.deepEqual(parseBpftraceFeatures('', ''), BASELINE_FEATURES);
  const info = recorded('debian13-0.23', 'info.txt');
  const cut = info.slice(0, info.indexOf('uprobe_multi'));
  t.false(parseBpftraceFeatures(cut, '').pidScopedUprobes);
  t.deepEqual(parseBpftraceFeatures('\u0000\u00ff garbage uprobe_multi yes bfd=yes', 'BPFTRACE_MAX_MAP_KEYSX'), BASELINE_FEATURES);
});

test('a help that lists both the old and the new name keeps the old one (no rename happened)', (t) => {
  const features = parseBpftraceFeatures('', '    BPFTRACE_MAP_KEYS_MAX   x\n    BPFTRACE_MAX_MAP_KEYS   y\n');
  t.deepEqual(features.settingNames, {});
});

test('the program comment says which bpftrace, what it can do and what memtrace chose; a path cannot break out of it', (t) => {
  const bpftrace = { path: '/opt/b\npftrace\n}; uprobe:x:y {', version: '0.23.2', features: features023 };
  const comment = tracerComment(bpftrace, [uprobeScopeChoice(bpftrace, 'libc.so.6')]);
  const lines = comment.trimEnd().split('\n');
  t.true(
    lines.every((line) => line.startsWith('// ')),
    comment,
  );
  t.is(lines[0], '// memtrace: written for bpftrace 0.23.2 (/opt/b pftrace }; uprobe:x:y {)');
  const described = describeFeatures(features023);
  t.deepEqual(
    lines.slice(1, 1 + described.length),
    described.map((line) => `//   ${line}`),
  );
  t.is(
    lines[1 + described.length],
    '// memtrace: uprobes attached for the traced process only (per-PID uprobes): other processes using libc.so.6 do not trap',
  );
  const none = tracerComment({ path: 'bpftrace', version: null, features: BASELINE_FEATURES }, []);
  t.regex(none, /^\/\/ memtrace: no bpftrace found: written for bpftrace 0\.17\n/);
});

test('a bpftrace that hangs on --info and --help is given up on within seconds, and taken to have no feature', async (t) => {
  // Ignores SIGTERM, as a stuck tracer may: only the SIGKILL that follows the timeout ends it.
  const fake = fakeBpftrace({ mode: 'deaf' });
  const started = Date.now();
  t.deepEqual(await probeBpftraceFeatures(fake), BASELINE_FEATURES);
  t.true(Date.now() - started < 8_000, `${Date.now() - started} ms`);
});
