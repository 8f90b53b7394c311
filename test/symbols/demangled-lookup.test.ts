import test from 'ava';
import { join } from 'node:path';
import { findByDemangledName } from '../../src/symbols/demangled-lookup.js';
import { readElf } from '../../src/symbols/elf.js';
import { compileFixture, makeTemporaryDirectory } from './helpers.js';

const temporary = makeTemporaryDirectory('demangled-lookup');
test.after.always(temporary.cleanup);

const ALLOCATOR = [
  'node::NodeArrayBufferAllocator::Allocate(unsigned long)',
  'node::NodeArrayBufferAllocator::AllocateUninitialized(unsigned long)',
  'v8::(anonymous namespace)::ArrayBufferAllocator::Free(void*, unsigned long)',
];

test('the stock node binary: Node ArrayBuffer allocator functions found by their demangled names', async (t) => {
  const elf = await readElf('/usr/bin/node');
  const { found, demanglerMissing } = await findByDemangledName(elf, ALLOCATOR, ['ArrayBufferAllocator']);
  t.false(demanglerMissing);
  t.deepEqual(
    ALLOCATOR.map((name) => found.get(name)?.symbol),
    [
      '_ZN4node24NodeArrayBufferAllocator8AllocateEm',
      '_ZN4node24NodeArrayBufferAllocator21AllocateUninitializedEm',
      '_ZN2v812_GLOBAL__N_120ArrayBufferAllocator4FreeEPvm',
    ],
  );
  t.is(found.get(ALLOCATOR[0]!)?.function.address, elf.findFunction('_ZN4node24NodeArrayBufferAllocator8AllocateEm')?.address);
});

test('a C++ program without those functions: nothing found; a missing c++filt is said', async (t) => {
  const elf = await readElf(compileFixture('widget.cpp', join(temporary.dir, 'widget')));
  t.is((await findByDemangledName(elf, ALLOCATOR, ['ArrayBufferAllocator'])).found.size, 0);
  const { found, demanglerMissing } = await findByDemangledName(elf, ['ns::Widget::grow(unsigned long)'], ['Widget'], {
    demangleCommand: '/nonexistent/c++filt',
  });
  t.true(demanglerMissing);
  t.is(found.size, 0);
});

test('the same program found by demangled name when c++filt is there', async (t) => {
  const elf = await readElf(compileFixture('widget.cpp', join(temporary.dir, 'widget2')));
  const { found } = await findByDemangledName(elf, ['ns::Widget::grow(unsigned long)'], ['Widget']);
  t.is(found.get('ns::Widget::grow(unsigned long)')?.symbol, '_ZN2ns6Widget4growEm');
});
