import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { buildCallsSpec, globToRegExp, MAX_NATIVE_FUNCTIONS, parseFunctionPattern } from '../../src/probes/calls-spec.js';

test('--func LIB:GLOB: a library glob or path, a symbol glob', (t) => {
  t.deepEqual(parseFunctionPattern('libz.so*:deflate*'), { library: 'libz.so*', symbol: 'deflate*' });
  t.deepEqual(parseFunctionPattern('/usr/lib/x86_64-linux-gnu/libz.so.1:deflate'), {
    library: '/usr/lib/x86_64-linux-gnu/libz.so.1',
    symbol: 'deflate',
  });
});

const refuse = test.macro((t, value: string) => {
  const error = t.throws(() => parseFunctionPattern(value), { instanceOf: UsageError });
  t.regex(error!.message, /^--func: expected LIB:GLOB/);
});
test('refuses no colon', refuse, 'libz.so');
test('refuses a quote in the symbol', refuse, 'libz.so:defl"ate');
test('refuses a probe separator', refuse, 'libz.so:deflate/pid == 1/{');
test('refuses braces in the library', refuse, 'lib{z}.so:deflate');
test('refuses .. in the path', refuse, '/usr/../etc/x.so:f');
test('refuses an empty symbol', refuse, 'libz.so:');
test('refuses a second colon', refuse, 'a:b:c');
test('refuses a symbol starting with a digit', refuse, 'libz.so:9f');

test('globToRegExp: * and ? only, every other character literal', (t) => {
  t.true(globToRegExp('libz.so*').test('libz.so.1.2.13'));
  t.false(globToRegExp('libz.so*').test('libzXso'));
  t.true(globToRegExp('deflate?').test('deflate2'));
  t.false(globToRegExp('deflate?').test('deflate'));
});

test('buildCallsSpec refuses nothing to probe, and too many functions', (t) => {
  t.throws(() => buildCallsSpec({ pid: 1, python: null, triggerBytes: 4096 }), { instanceOf: UsageError, message: /nothing to probe/ });
  const functions = Array.from({ length: MAX_NATIVE_FUNCTIONS + 1 }, (_, index) => ({ library: '/lib/x.so', symbol: `f${index}` }));
  t.throws(() => buildCallsSpec({ pid: 1, python: null, triggerBytes: 4096, functions }), {
    instanceOf: UsageError,
    message: /65 functions matched; at most 64/,
  });
});

test('buildCallsSpec validates every value that reaches the program', (t) => {
  t.throws(() => buildCallsSpec({ pid: 1, python: { binary: 'python3', lines: false }, triggerBytes: 4096 }), { instanceOf: UsageError });
  t.throws(() => buildCallsSpec({ pid: 1, python: null, triggerBytes: 4096, functions: [{ library: '/lib/x.so', symbol: 'a b' }] }), {
    instanceOf: UsageError,
  });
  t.throws(() => buildCallsSpec({ pid: 0, python: { binary: '/usr/bin/python3.11', lines: true }, triggerBytes: 4096 }), {
    instanceOf: UsageError,
  });
  const spec = buildCallsSpec({
    pid: 7,
    python: null,
    triggerBytes: 0,
    functions: [
      { library: '/lib/x.so', symbol: 'f' },
      { library: '/lib/y.so', symbol: 'g' },
    ],
  });
  t.deepEqual(spec.functions, [
    { id: 1, library: '/lib/x.so', symbol: 'f' },
    { id: 2, library: '/lib/y.so', symbol: 'g' },
  ]);
});
