// Launching a Python command for `calls`, held once the interpreter runs.
//
// launchHeld (target.ts) holds a shell shim before it execs the command: right for uprobes, which
// belong to a file, but not for the interpreter's USDT probes. Their semaphores live in the
// interpreter's memory, and bpftrace 0.17 sets them only in a process that already maps the
// interpreter when it attaches (`-p`): attached to the shim, it finds no probes at all. So the
// command is started as it is, with a sitecustomize module first on PYTHONPATH that the interpreter
// imports at start-up, before the program's own code: it writes its PID (a wrapper such as pyenv's
// shim may exec or fork the real interpreter), stops itself, and once continued, takes itself out
// of PYTHONPATH and runs the sitecustomize it shadows, so the program sees its usual start-up.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TargetError } from '../errors.js';
import { delay, processState, safeKill, type LaunchedTarget, type TargetExit } from './target.js';

const SITECUSTOMIZE = `# memtrace calls: holds this interpreter before the program runs, until bpftrace is attached.
import os, signal, sys
_hold = os.environ.pop('MEMTRACE_HOLD_DIR', None)
if _hold is not None:
    _rest = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p and p != _hold]
    if _rest:
        os.environ['PYTHONPATH'] = os.pathsep.join(_rest)
    else:
        os.environ.pop('PYTHONPATH', None)
    with open(os.path.join(_hold, 'pid.tmp'), 'w') as _file:
        _file.write(str(os.getpid()))
    os.rename(os.path.join(_hold, 'pid.tmp'), os.path.join(_hold, 'pid'))
    os.kill(os.getpid(), signal.SIGSTOP)
    sys.path[:] = [p for p in sys.path if p != _hold]
    import importlib.machinery, importlib.util
    _spec = importlib.machinery.PathFinder.find_spec('sitecustomize', sys.path)
    if _spec is not None and _spec.loader is not None:
        _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
`;

export interface PythonLaunchOptions {
  command: string[];
  env: NodeJS.ProcessEnv;
  /** The command's standard output: memtrace's, or its standard error when the report goes to stdout. */
  stdout: 'inherit' | 'stderr';
  /** How long the interpreter may take to reach its start-up hold. */
  timeoutMs?: number;
}

/** A launched Python command, stopped in its start-up; `pid` is the interpreter's (maybe not the spawned process's). */
export interface HeldPython extends LaunchedTarget {
  /** The process memtrace spawned (a wrapper, or the interpreter itself). */
  spawnedPid: number;
}

export async function launchPythonHeld(options: PythonLaunchOptions): Promise<HeldPython> {
  const [command, ...args] = options.command;
  if (command === undefined) throw new TargetError('no command to launch after --');
  const directory = await mkdtemp(join(tmpdir(), 'memtrace-python-'));
  // A failed write (disk full) must not leave the directory behind.
  await writeFile(join(directory, 'sitecustomize.py'), SITECUSTOMIZE, { mode: 0o644 }).catch(async (error: unknown) => {
    await rm(directory, { recursive: true, force: true });
    throw error;
  });
  const pythonPath = [directory, options.env.PYTHONPATH].filter((part) => part !== undefined && part !== '').join(delimiter);
  const child = spawn(command, args, {
    env: { ...options.env, PYTHONPATH: pythonPath, MEMTRACE_HOLD_DIR: directory },
    stdio: ['inherit', options.stdout === 'stderr' ? process.stderr : 'inherit', 'inherit'],
  });
  const exited = new Promise<TargetExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  const cleanUp = () => rm(directory, { recursive: true, force: true });
  if (child.pid === undefined) {
    await cleanUp();
    throw new TargetError(`cannot start ${command}`, { exitCode: 127 });
  }
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  try {
    const pid = await waitForHold(directory, options.timeoutMs ?? 20_000, () => gone, command);
    return { pid, spawnedPid: child.pid, exited, resume: () => safeKill(pid, 'SIGCONT'), dispose: () => {} };
  } finally {
    await cleanUp();
  }
}

async function waitForHold(directory: string, timeoutMs: number, gone: () => boolean, command: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await readFile(join(directory, 'pid'), 'utf8').catch(() => null);
    if (text !== null) {
      const pid = Number(text);
      // Held once the kernel shows it stopped (the PID is written just before the stop).
      while (Date.now() < deadline) {
        const state = await processState(pid);
        if (state === 'T' || state === 't') return pid;
        if (state === null) throw new TargetError(`the Python process ${pid} exited before tracing could start`);
        await delay(2);
      }
    }
    if (gone()) {
      throw new TargetError(
        `${command} exited before its interpreter reached start-up: it is not a Python command, or it ran Python with -S or -I (no site module)`,
      );
    }
    await delay(5);
  }
  throw new TargetError(
    `${command}: no Python interpreter reached start-up within ${timeoutMs / 1000} s (not Python, or python -S / -I, which skip the site module memtrace holds the interpreter in)`,
  );
}
