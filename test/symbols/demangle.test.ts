import test from 'ava';
import { demangle } from '../../src/symbols/demangle.js';

test('mangled names are demangled, everything else passes through untouched', async (t) => {
  const names = [
    '_ZN2ns6Widget4growEm',
    'malloc',
    'memtrace_free_body',
    '0x7f0012345678',
    '_ZNSt6vectorIiSaIiEE9push_backERKi',
    '_Z3foov.cold',
  ];
  const result = await demangle(names);
  t.false(result.demanglerMissing);
  t.deepEqual(Object.fromEntries(result), {
    _ZN2ns6Widget4growEm: 'ns::Widget::grow(unsigned long)',
    malloc: 'malloc',
    memtrace_free_body: 'memtrace_free_body',
    '0x7f0012345678': '0x7f0012345678',
    _ZNSt6vectorIiSaIiEE9push_backERKi: 'std::vector<int, std::allocator<int> >::push_back(int const&)',
    '_Z3foov.cold': 'foo() [clone .cold]',
  });
});

test('a name with a newline is never sent, so the lines after it stay aligned', async (t) => {
  const result = await demangle(['_Z1av', '_Z1b\nv', '_Z1cv', '_Znot_really_mangled']);
  t.is(result.get('_Z1av'), 'a()');
  t.is(result.get('_Z1b\nv'), '_Z1b\nv');
  t.is(result.get('_Z1cv'), 'c()');
  // c++filt echoes what it cannot demangle, so the line still lines up.
  t.is(result.get('_Znot_really_mangled'), '_Znot_really_mangled');
});

test('a large batch stays aligned', async (t) => {
  const names = Array.from({ length: 2003 }, (_, i) => `_Z${`f${i}`.length}f${i}v`);
  const result = await demangle(names);
  t.is(result.size, 2003);
  t.is(result.get('_Z5f1999v'), 'f1999()');
  t.is(result.get(names[0]!), 'f0()');
  t.is(result.get(names[2002]!), 'f2002()');
});

test('a missing c++filt keeps the mangled names and says so', async (t) => {
  const result = await demangle(['_ZN2ns6Widget4growEm', 'free'], { command: '/nonexistent/c++filt' });
  t.true(result.demanglerMissing);
  t.is(result.problem, '/nonexistent/c++filt not found (install binutils to demangle C++ names)');
  t.deepEqual(Object.fromEntries(result), { _ZN2ns6Widget4growEm: '_ZN2ns6Widget4growEm', free: 'free' });
});

test('a c++filt that fails keeps the mangled names', async (t) => {
  const result = await demangle(['_Z1av'], { command: '/bin/false' });
  t.true(result.demanglerMissing);
  t.is(result.get('_Z1av'), '_Z1av');
});

test('no mangled names: c++filt is not run at all', async (t) => {
  const result = await demangle(['malloc', 'free'], { command: '/nonexistent/c++filt' });
  t.false(result.demanglerMissing);
  t.is(result.size, 2);
});
