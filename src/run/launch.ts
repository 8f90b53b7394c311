// A command launched by an in-process or sampling tool (process, trace-malloc, heap-stats): no hold
// and no tracer, just the command with memtrace's standard streams and an environment of its own.
// Tracing tools use launchHeld (target.ts) instead, which stops the command before it runs.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { TargetError } from '../errors.js';
import { resolveCommand, type TargetExit } from './target.js';

export interface PlainTarget {
  pid: number;
  exited: Promise<TargetExit>;
  /** Sends a signal if the command still runs (to its whole process group when it has one of its own); false if it had gone. */
  signal(signal: NodeJS.Signals): boolean;
}

export async function launchCommand(options: {
  command: string[];
  env: NodeJS.ProcessEnv;
  /** Where the command's stdout goes: memtrace's stdout, or its stderr when a report goes to stdout. */
  stdout: 'inherit' | 'stderr';
  /**
   * Run the command in a process group of its own, so that a Ctrl-C at the terminal reaches memtrace
   * alone, which then decides when the command is told (explain snapshots it first).
   */
  ownProcessGroup?: boolean;
}): Promise<PlainTarget> {
  const [command, ...args] = options.command;
  if (command === undefined) throw new TargetError('no command to launch after --');
  const path = await resolveCommand(command, options.env.PATH ?? '');
  const child = spawn(path, args, {
    argv0: command,
    env: options.env,
    stdio: ['inherit', options.stdout === 'stderr' ? process.stderr : 'inherit', 'inherit'],
    detached: options.ownProcessGroup === true,
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new TargetError(`cannot run ${command}: ${error.message}`, { exitCode: 126, cause: error })));
  });
  await spawned;
  let running = true;
  const exited = new Promise<TargetExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  return {
    pid: child.pid!,
    exited,
    signal(signal) {
      if (!running) return false;
      if (options.ownProcessGroup !== true) return child.kill(signal);
      // The whole group: a command such as `npm run server` leaves its real work to a child.
      try {
        process.kill(-child.pid!, signal);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** memtrace's exit code for a command that ended this way (a shell's convention: 128 + signal). */
export function exitCodeOf(exit: TargetExit): number {
  if (exit.code !== null) return exit.code;
  return 128 + (exit.signal === null ? 0 : ((osConstants.signals as Record<string, number>)[exit.signal] ?? 0));
}
