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

test('the tools without a DTrace version refuse memtrace-dtrace before anything else, and say so; their help is still shown', async (t) => {
  const { execa } = await import('execa');
  const { MEMTRACE_DTRACE } = await import('../helpers/cli.js');
  for (const [tool, words] of [
    ['external', 'external traces with bpftrace (Linux); memtrace-dtrace has no external tool yet'],
    ['gc', 'gc traces with bpftrace (Linux); memtrace-dtrace has no gc tool yet'],
    ['faults', 'faults traces with bpftrace on Linux; there is no DTrace version yet'],
    ['calls', 'calls traces with bpftrace (Linux); memtrace-dtrace has no calls tool yet'],
  ] as const) {
    const refused = await execa(process.execPath, [MEMTRACE_DTRACE, tool, '-p', '1'], { reject: false });
    t.is(refused.exitCode, 2, tool);
    t.is(refused.stderr.split('\n')[0], `memtrace-dtrace: ${words}`);
    const help = await execa(process.execPath, [MEMTRACE_DTRACE, tool, '--help'], { reject: false });
    t.is(help.exitCode, 0);
    t.regex(help.stdout, new RegExp(`^Usage: memtrace-dtrace ${tool} `));
  }
});
