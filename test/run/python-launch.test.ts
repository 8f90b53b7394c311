import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { launchPythonHeld } from '../../src/run/python-launch.js';
import { processState } from '../../src/run/target.js';
import { DEBIAN_PYTHON, needing, PYTHON_NEED } from '../helpers/needs.js';

const PYTHON = DEBIAN_PYTHON;
const pythonTest = needing([PYTHON_NEED]);

pythonTest('holds the interpreter in its start-up, then runs the program with its own environment and site', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'seen.txt');
  const program = `import os, sys; open(${JSON.stringify(out)}, 'w').write(' '.join([os.environ.get('PYTHONPATH', '<unset>'), os.environ.get('MEMTRACE_HOLD_DIR', '<unset>'), str(any('memtrace-python-' in p for p in sys.path))]))`;
  const held = await launchPythonHeld({ command: [PYTHON, '-c', program], env: { ...process.env, PYTHONPATH: '' }, stdout: 'inherit' });
  t.is(held.pid, held.spawnedPid);
  t.true(['T', 't'].includes((await processState(held.pid)) ?? ''));
  held.resume();
  t.deepEqual(await held.exited, { code: 0, signal: null });
  // memtrace's directory is gone from the program's PYTHONPATH, environment and sys.path.
  t.is(readFileSync(out, 'utf8'), '<unset> <unset> False');
});

test.serial('a command that is no Python exits before the hold: a TargetError that says why', async (t) => {
  await t.throwsAsync(launchPythonHeld({ command: ['/bin/true'], env: process.env, stdout: 'inherit' }), {
    message: /^\/bin\/true exited before its interpreter reached start-up: it is not a Python command, or it ran Python with -S or -I/,
  });
});

pythonTest('python -I skips the site module: refused, not traced blind', async (t) => {
  await t.throwsAsync(launchPythonHeld({ command: [PYTHON, '-I', '-c', 'pass'], env: process.env, stdout: 'inherit' }), {
    message: /exited before its interpreter reached start-up/,
  });
});
