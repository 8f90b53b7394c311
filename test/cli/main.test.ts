import test from 'ava';
import { COMMAND_NAMES, loadCommand, resolveBackend } from '../../src/cli/main.js';

test('memtrace traces with DTrace on macOS and bpftrace on Linux; the pinned commands keep theirs', (t) => {
  t.is(resolveBackend('auto', 'darwin'), 'dtrace');
  t.is(resolveBackend('auto', 'linux'), 'bpf');
  t.is(resolveBackend('bpf', 'darwin'), 'bpf');
  t.is(resolveBackend('dtrace', 'linux'), 'dtrace');
});

test('each command loads from the module its name points to; a name that is none loads nothing', async (t) => {
  for (const name of COMMAND_NAMES) t.is((await loadCommand(name))?.name, name);
  for (const name of ['nope', '__proto__', 'constructor', 'toString']) t.is(await loadCommand(name), undefined);
});
