import test from 'ava';
import { resolveBackend } from '../../src/cli/main.js';

test('memtrace traces with DTrace on macOS and bpftrace on Linux; the pinned commands keep theirs', (t) => {
  t.is(resolveBackend('auto', 'darwin'), 'dtrace');
  t.is(resolveBackend('auto', 'linux'), 'bpf');
  t.is(resolveBackend('bpf', 'darwin'), 'bpf');
  t.is(resolveBackend('dtrace', 'linux'), 'dtrace');
});
