import test from 'ava';
import { UsageError } from '../../src/errors.js';
import {
  validateByteSize,
  validateDurationMs,
  validateInteger,
  validatePid,
  validateProbePath,
  validateSymbol,
  validateSymbolPrefix,
} from '../../src/probes/validate.js';

const rejects = test.macro((t, check: () => unknown, message: RegExp) => {
  const error = t.throws(check, { instanceOf: UsageError });
  t.regex(error!.message, message);
});

test('a pid is a plain decimal integer in range', (t) => {
  t.is(validatePid('4242'), 4242);
  t.is(validatePid(1), 1);
});
test('pid 0 is refused', rejects, () => validatePid('0'), /--pid: expected a whole number from 1/);
test('a negative pid is refused', rejects, () => validatePid('-1'), /--pid/);
test('a pid with script text is refused', rejects, () => validatePid('1/ { system("id") } //'), /--pid/);
test('a pid in hex is refused', rejects, () => validatePid('0x10'), /--pid/);
test(
  'an integer out of range is refused',
  rejects,
  () => validateInteger('--sample', '0', 1, 10),
  /--sample: expected a whole number from 1 to 10, got "0"/,
);

test('byte sizes take binary units', (t) => {
  t.is(validateByteSize('--min-size', '4096'), 4096);
  t.is(validateByteSize('--min-size', '64k'), 65_536);
  t.is(validateByteSize('--min-size', '1.5MiB'), 1_572_864);
});
test('a size with an unknown unit is refused', rejects, () => validateByteSize('--min-size', '4 parsecs'), /--min-size: expected a size/);

test('durations in s, ms, m', (t) => {
  t.is(validateDurationMs('--duration', '30'), 30_000);
  t.is(validateDurationMs('--duration', '1.5s'), 1_500);
  t.is(validateDurationMs('--duration', '500ms'), 500);
  t.is(validateDurationMs('--duration', '2m'), 120_000);
});
test('a zero duration is refused', rejects, () => validateDurationMs('--duration', '0'), /at least 1 ms/);

test('probe paths are absolute and plain', (t) => {
  t.is(validateProbePath('--lib', '/usr/lib/x86_64-linux-gnu/libc.so.6'), '/usr/lib/x86_64-linux-gnu/libc.so.6');
  t.is(validateProbePath('--lib', '/opt/app/lib/libjemalloc.so.2'), '/opt/app/lib/libjemalloc.so.2');
});
test(
  'a path with a colon is refused (it would end the probe path)',
  rejects,
  () => validateProbePath('--lib', '/lib/libc.so.6:malloc { system("id") }'),
  /--lib: expected an absolute path/,
);
test('a path with a newline is refused', rejects, () => validateProbePath('--lib', '/lib/libc.so.6\nBEGIN { }'), /--lib/);
test('a path with a space is refused', rejects, () => validateProbePath('--lib', '/my libs/libc.so.6'), /--lib/);
test('a relative path is refused', rejects, () => validateProbePath('--lib', 'lib/libc.so.6'), /absolute path/);
test('a path with .. is refused', rejects, () => validateProbePath('--lib', '/usr/../etc/libc.so.6'), /"\.\."/);

test('symbols are identifiers', (t) => {
  t.is(validateSymbol('--prefix', 'je_malloc'), 'je_malloc');
  t.is(validateSymbol('--prefix', 'free.cold'), 'free.cold');
});
test('a symbol with braces is refused', rejects, () => validateSymbol('--prefix', 'malloc{'), /symbol name/);
test('a prefix with a colon is refused', rejects, () => validateSymbolPrefix('--prefix', 'x:'), /symbol prefix/);
test('an empty prefix is allowed', (t) => {
  t.is(validateSymbolPrefix('--prefix', ''), '');
});
