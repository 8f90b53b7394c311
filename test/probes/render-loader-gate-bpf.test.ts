import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { LOADER_GATE_ARMED_MARKER, LOADER_GATE_MARKER, renderLoaderGateBpf } from '../../src/probes/render-loader-gate-bpf.js';
import { readCommandInterpreter, readInterpreter } from '../../src/symbols/elf-interp.js';

test('a dynamically linked command is stopped at the second _dl_debug_state call (its libraries mapped)', (t) => {
  const program = renderLoaderGateBpf({ pid: 4242, interpreter: '/lib64/ld-linux-x86-64.so.2' });
  t.true(program.includes('uprobe:/lib64/ld-linux-x86-64.so.2:_dl_debug_state\n/pid == 4242/'));
  t.true(program.includes('if (@calls == 2) {'));
  t.true(program.includes(`printf("${LOADER_GATE_MARKER} %d\\n", pid);`));
  t.true(program.includes('signal("SIGSTOP");'));
  t.true(program.includes(`printf("${LOADER_GATE_ARMED_MARKER}\\n");`));
});

test('a statically linked command is stopped at its exec', (t) => {
  const program = renderLoaderGateBpf({ pid: 7, interpreter: null });
  t.true(program.includes('tracepoint:sched:sched_process_exec\n/pid == 7/'));
  t.false(program.includes('_dl_debug_state'));
});

test('an interpreter path or PID that could break out of the program is refused', (t) => {
  t.throws(() => renderLoaderGateBpf({ pid: 1, interpreter: '/lib/ld.so:x { system("id") }' }));
  t.throws(() => renderLoaderGateBpf({ pid: -1, interpreter: null }));
});

test('the interpreter of an executable, of a #! script, and none for a static one or a non-ELF file', async (t) => {
  const node = process.execPath;
  const loader = await readInterpreter(node);
  t.regex(loader ?? '', /^\/lib(64)?\/.*ld-linux.*\.so\.\d$/);
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-interp-'));
  writeFileSync(join(directory, 'script'), `#!${node}\nconsole.log(1)\n`);
  t.is(await readCommandInterpreter(join(directory, 'script')), loader);
  writeFileSync(join(directory, 'env-script'), '#!/usr/bin/env node\n');
  t.is(
    await readCommandInterpreter(join(directory, 'env-script')),
    await readInterpreter('/usr/bin/env'),
    "env's loader: env execs again later",
  );
  writeFileSync(join(directory, 'text'), 'hello\n');
  t.is(await readInterpreter(join(directory, 'text')), null);
  writeFileSync(join(directory, 'empty'), '');
  t.is(await readCommandInterpreter(join(directory, 'empty')), null);
});
