// The traced process: launched by memtrace and held before it runs a single instruction of the
// command until the probes are attached, or an existing process attached to by PID.
//
// A launched command is started through a tiny shell shim that stops itself (`kill -STOP $$`) and,
// once continued, execs the command: the PID stays the same across the exec, so the tracer can be
// pointed at it before the command exists. The command keeps memtrace's standard input, output and
// error; with a terminal it gets a terminal of its own through node-pty, the way ssh gives one.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { TargetError } from '../errors.js';
import { findOnPath } from './bpftrace.js';

/** What a tool traces, as the user asked: a running process, or a command memtrace launches. */
export type Target = { kind: 'attach'; pid: number } | { kind: 'launch'; command: string[] };

export interface TargetExit {
  code: number | null;
  signal: string | null;
}

export interface LaunchedTarget {
  pid: number;
  /** Lets the held shim exec the command. */
  resume(): void;
  /** Settles when the command exits. */
  exited: Promise<TargetExit>;
  /** Restores the terminal; call once, at the end. */
  dispose(): void;
}

export interface LaunchOptions {
  command: string[];
  env: NodeJS.ProcessEnv;
  /**
   * Where the command's standard output goes when memtrace has no terminal: `inherit` (memtrace's
   * stdout) or `stderr`, used when the report itself is written to stdout so the two never mix.
   */
  stdout: 'inherit' | 'stderr';
  /** Use a pseudo-terminal (node-pty) when memtrace's standard input and output are terminals. */
  terminal: boolean;
  /** LD_LIBRARY_PATH for the command only (not for the shim that holds it). */
  commandLibraryPath?: string;
}

// $0 is the command and "$@" its arguments: nothing of the user's is parsed by the shell. A library
// path meant for the command is exported only after the shim is continued, so that the shell itself
// never loads memtrace's private libc (its own allocations would be traced).
const HOLD_SHIM = [
  'kill -STOP $$ || exit 126',
  'if [ -n "${MEMTRACE_COMMAND_LIBRARY_PATH+set}" ]; then',
  '  LD_LIBRARY_PATH=$MEMTRACE_COMMAND_LIBRARY_PATH; export LD_LIBRARY_PATH; unset MEMTRACE_COMMAND_LIBRARY_PATH',
  'fi',
  'exec "$0" "$@"',
].join('\n');

export async function resolveCommand(command: string, searchPath: string): Promise<string> {
  const resolved = await findOnPath(command, searchPath);
  if (resolved === null) {
    throw new TargetError(
      command.includes('/') ? `cannot run ${command}: no such executable file` : `cannot run ${command}: command not found in PATH`,
      { exitCode: 127 },
    );
  }
  return resolved;
}

export async function launchHeld(options: LaunchOptions): Promise<LaunchedTarget> {
  const [command, ...args] = options.command;
  if (command === undefined) throw new TargetError('no command to launch after --');
  if (options.commandLibraryPath !== undefined) {
    options = { ...options, env: { ...options.env, MEMTRACE_COMMAND_LIBRARY_PATH: options.commandLibraryPath } };
  }
  const target = options.terminal ? await launchInTerminal(command, args, options.env) : launchWithStdio(command, args, options);
  try {
    await waitUntilStopped(target.pid, target.exited);
  } catch (error) {
    target.dispose();
    throw error;
  }
  return target;
}

function launchWithStdio(command: string, args: string[], options: LaunchOptions): LaunchedTarget {
  const child: ChildProcess = spawn('/bin/sh', ['-c', HOLD_SHIM, command, ...args], {
    env: options.env,
    stdio: ['inherit', options.stdout === 'stderr' ? process.stderr : 'inherit', 'inherit'],
  });
  if (child.pid === undefined) throw new TargetError(`cannot start /bin/sh to launch ${command}`);
  const exited = new Promise<TargetExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  const pid = child.pid;
  return { pid, exited, resume: () => safeKill(pid, 'SIGCONT'), dispose: () => {} };
}

async function launchInTerminal(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<LaunchedTarget> {
  const pty = await import('node-pty');
  const output = process.stdout.isTTY ? process.stdout : process.stderr;
  const terminal = pty.spawn('/bin/sh', ['-c', HOLD_SHIM, command, ...args], {
    name: env.TERM ?? 'xterm-256color',
    cols: output.columns ?? 80,
    rows: output.rows ?? 24,
    cwd: process.cwd(),
    env: env as Record<string, string>,
  });
  // node-pty may report the exit before the last output has been read from the terminal: the exit
  // counts once the terminal has also been quiet for a moment (at most a second), so no output is lost.
  let lastData = Date.now();
  terminal.onData((data) => {
    lastData = Date.now();
    output.write(data);
  });
  const exited = new Promise<TargetExit>((resolve) => {
    terminal.onExit(({ exitCode, signal }) => {
      const exit = { code: exitCode, signal: signal ? signalName(signal) : null };
      const exitAt = Date.now();
      const settle = () => (Date.now() - lastData >= 100 || Date.now() - exitAt >= 1000 ? resolve(exit) : setTimeout(settle, 20));
      settle();
    });
  });
  const stdin = process.stdin;
  const forwardInput = (data: Buffer) => terminal.write(data.toString('binary'));
  const resize = () => terminal.resize(output.columns ?? 80, output.rows ?? 24);
  // Raw mode sends Ctrl-C and friends to the command's terminal, as a terminal would.
  stdin.setRawMode?.(true);
  stdin.on('data', forwardInput);
  stdin.resume();
  output.on('resize', resize);
  let disposed = false;
  return {
    pid: terminal.pid,
    exited,
    resume: () => safeKill(terminal.pid, 'SIGCONT'),
    dispose: () => {
      if (disposed) return;
      disposed = true;
      stdin.off('data', forwardInput);
      stdin.setRawMode?.(false);
      stdin.pause();
      output.off('resize', resize);
    },
  };
}

/** Waits until the shim has stopped itself (state T in /proc/PID/stat). */
async function waitUntilStopped(pid: number, exited: Promise<TargetExit>, timeoutMs = 10_000): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new TargetError(`the launched command exited before tracing could start`);
    const state = await processState(pid);
    if (state === 'T' || state === 't') return;
    if (state === null) throw new TargetError(`the launched command (PID ${pid}) disappeared before tracing could start`);
    await delay(2);
  }
  throw new TargetError(`the launched command (PID ${pid}) did not reach its starting point within ${timeoutMs / 1000} s`);
}

/** The one-letter state of a process (R, S, D, T, t, Z …), or null if there is no such process. */
export async function processState(pid: number): Promise<string | null> {
  return (await processStat(pid))?.state ?? null;
}

/** The state letter and the kernel's task flags of /proc/PID/stat (fields 3 and 9), or null when the process is gone. */
export async function processStat(pid: number): Promise<{ state: string; flags: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself contain ") ": the fields follow the last one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] ? { state: fields[0], flags: Number(fields[6] ?? 0) } : null;
  } catch {
    return null;
  }
}

export function safeKill(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

function signalName(number: number): string {
  return Object.entries(osConstants.signals).find(([, value]) => value === number)?.[0] ?? String(number);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
