// memtrace-bpf faults: help, no arguments, and the usage errors that stop it before any tracing.
import test from 'ava';
import { memtrace } from '../helpers/cli.js';
import { liveTest } from '../helpers/live.js';

test('--help prints the usage and the value names', async (t) => {
  const result = await memtrace(['faults', '--help']);
  t.is(result.exitCode, 0);
  t.regex(`${result.stdout}`, /^Usage: memtrace-bpf faults \[options\] -p PID$/m);
  t.regex(`${result.stdout}`, /residentBytes \(default\),\s+faults, brkBytes, mmapBytes/);
});

const usageError = test.macro(async (t, args: string[], message: RegExp) => {
  const result = await memtrace(['faults', ...args]);
  t.is(result.exitCode, 2, `${result.stderr}`);
  t.regex(`${result.stderr}`, message);
  t.regex(`${result.stderr}`, /Run "memtrace-bpf faults --help" for usage\./);
});

test('no target', usageError, [], /nothing to trace: give -p PID or -- COMMAND/);
test('both -p and a command', usageError, ['-p', '1', '--', 'true'], /give either -p PID or -- COMMAND, not both/);
test('a PID that is not a number', usageError, ['-p', '12ab'], /--pid: expected a whole number from 1 to 4194304, got "12ab"/);
test(
  'an unknown --value',
  usageError,
  ['-p', '1', '--value', 'allocBytes'],
  /--value: expected one of faults, residentBytes, brkBytes, mmapBytes, got "allocBytes"/,
);
test(
  'a report extension faults cannot write',
  usageError,
  ['-p', '1', '-o', 'out.tsv'],
  /out\.tsv: cannot tell the report format from the extension/,
);
test('a stack depth beyond 64', usageError, ['-p', '1', '--stack-depth', '65'], /--stack-depth: expected a whole number from 2 to 64/);
test(
  'a report in a directory that does not exist',
  usageError,
  ['-p', '1', '-o', '/nonexistent/dir/out.svg'],
  /cannot write \/nonexistent\/dir\/out\.svg/,
);

liveTest('--print-script prints the program for the PID and exits', async (t) => {
  const result = await memtrace(['faults', '-p', '1', '--print-script']);
  t.is(result.exitCode, 0, `${result.stderr}`);
  // The program opens with memtrace's comment on the bpftrace it was written for (docs/compat.md).
  t.regex(`${result.stdout}`, /^\/\/ memtrace: written for bpftrace \d+\.\d+\.\d+ /);
  // A bpftrace with DWARF stacks gets the config block that enables dw_ustack first, and one that takes
  // map declarations the capacity of @fault_kinds (the 8 combinations of the error-code bits it keeps).
  t.regex(
    `${result.stdout}`.replace(/^(\/\/.*\n)+/, ''),
    /^(config = \{\n {2}unstable_dw_ustack = enable\n\}\n\n)?(let @fault_kinds = percpuhash\(8\);\n\n)?BEGIN\n\{\n {2}printf\("memtrace:begin faults\\n"\);/,
  );
  t.is(`${result.stdout}`.match(/\/pid == 1\b/g)?.length, 7);
});
