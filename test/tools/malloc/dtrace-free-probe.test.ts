// chooseDtraceFreeProbe on this machine's glibc (Debian 12's 2.36: `test %rdi,%rdi; je <ret>` then
// the body at free+9, the bare ret at free+0xc8), through the maps of this very process.
import test from 'ava';
import { chooseDtraceFreeProbe } from '../../../src/tools/malloc/dtrace-free-probe.js';
import { findFreeBody } from '../../../src/symbols/elf-alias.js';
import { readElf } from '../../../src/symbols/elf.js';
import { readProcMaps } from '../../../src/symbols/proc-maps.js';

test('Linux, libc.so.6 mapped by the target: free past its NULL test, free(NULL) at its ret, offsets in hex in the choice', async (t) => {
  const libc = (await readProcMaps(process.pid)).find((mapping) => mapping.path.endsWith('/libc.so.6'))!.path;
  const body = (await findFreeBody(await readElf(libc), 'free'))!;
  t.not(body, null, "this machine's glibc begins free with the NULL test");
  const chosen = await chooseDtraceFreeProbe('libc.so.6', { kind: 'attach', pid: process.pid }, 'linux');
  t.deepEqual(chosen.free, { mode: 'offset', bodyOffset: body.bodyOffset, nullOffset: body.nullReturnOffset });
  t.is(
    chosen.choice,
    `free probed at free:${body.bodyOffset.toString(16)}, past its NULL test (an offset probe: the instruction there is emulated, not single-stepped); free(NULL) at free:${body.nullReturnOffset!.toString(16)}`,
  );
  // Launched: the C library memtrace itself runs on.
  t.deepEqual((await chooseDtraceFreeProbe('libc.so.6', { kind: 'launch', command: ['true'] }, 'linux')).free, chosen.free);
});

test('at the entry: on macOS, for a module the process does not map, a module without the NULL test, a PID that is gone', async (t) => {
  const entry = { free: { mode: 'entry' }, choice: null };
  t.deepEqual(await chooseDtraceFreeProbe('libc.so.6', { kind: 'attach', pid: process.pid }, 'darwin'), entry);
  t.deepEqual(await chooseDtraceFreeProbe('libsystem_malloc.dylib', { kind: 'attach', pid: process.pid }, 'linux'), entry);
  // node's own executable defines no free of glibc's shape.
  t.deepEqual(await chooseDtraceFreeProbe('node', { kind: 'attach', pid: process.pid }, 'linux'), entry);
  t.deepEqual(await chooseDtraceFreeProbe('libc.so.6', { kind: 'attach', pid: 2 ** 22 + 1 }, 'linux'), entry);
});
