// Runs a Node command with one of memtrace's preloads and collects what it wrote: the common part
// of `memtrace heap-stats` and `memtrace trace-malloc`. Each Node process of the run (the command
// and any Node children, which inherit NODE_OPTIONS) writes TOOL-PID.json into a private directory.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParseError, TargetError } from '../../errors.js';
import { nodeOptionsWithPreload, preloadPath, requireNodeCommand } from '../../node/node-target.js';
import { exitCodeOf, launchCommand } from '../../run/launch.js';
import type { TargetExit } from '../../run/target.js';

export interface PreloadRun {
  pid: number;
  exit: TargetExit;
  /** The command's own file. */
  main: { file: string; text: string };
  /** Files of Node children, by PID. */
  others: Array<{ pid: number; file: string }>;
}

export async function runWithPreload(options: {
  tool: 'heap-stats' | 'trace-malloc';
  command: string[];
  /** Variables for the preload; the directory variable is added here. */
  env: Record<string, string>;
  directoryVariable: string;
  stdout: 'inherit' | 'stderr';
}): Promise<PreloadRun> {
  await requireNodeCommand(options.tool, options.command, process.env.PATH ?? '');
  const directory = await mkdtemp(join(tmpdir(), `memtrace-${options.tool}-`));
  try {
    const target = await launchCommand({
      command: options.command,
      env: {
        ...process.env,
        ...options.env,
        [options.directoryVariable]: directory,
        NODE_OPTIONS: nodeOptionsWithPreload(process.env.NODE_OPTIONS, preloadPath(options.tool)),
      },
      stdout: options.stdout,
    });
    // Ctrl-C reaches the command through the terminal; a signal sent to memtrace alone is passed on.
    const forward = (signal: NodeJS.Signals) => target.signal(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    const exit = await target.exited.finally(() => process.off('SIGINT', forward).off('SIGTERM', forward));
    const pattern = new RegExp(`^${options.tool}-(\\d+)\\.json$`);
    const files = (await readdir(directory)).filter((name) => pattern.test(name)).sort();
    const pidOf = (name: string) => Number(pattern.exec(name)![1]);
    const mainName = files.find((name) => pidOf(name) === target.pid);
    if (mainName === undefined) {
      throw new TargetError(
        `${options.command[0]} (PID ${target.pid}) ended (${exit.signal ?? `exit code ${exit.code}`}) without reporting: it did not start Node.js with memtrace's preload, or it was killed with SIGKILL${files.length > 0 ? `; ${files.length} other Node process(es) reported` : ''}`,
        { exitCode: exit.code === 0 ? 5 : exitCodeOf(exit) },
      );
    }
    return {
      pid: target.pid,
      exit,
      main: { file: mainName, text: await readFile(join(directory, mainName), 'utf8') },
      others: files.filter((name) => name !== mainName).map((name) => ({ pid: pidOf(name), file: name })),
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Reads a preload's file as a JSON object, naming the file and what was wrong; `valid` checks the
 * fields the tool needs and `expected` says what they are.
 */
export function parsePreloadJson<T>(text: string, file: string, tool: string, valid: (record: T) => boolean, expected: string): T {
  const fail = (what: string): never => {
    throw new ParseError({ file, lineNumber: 1, format: `${tool} preload output`, expected: what, line: text.slice(0, 80) });
  };
  if (text.trim() === '') fail('a JSON object; the file is empty');
  let record: T;
  try {
    record = JSON.parse(text) as T;
  } catch {
    return fail('a JSON object (the file is cut short?)');
  }
  if (typeof record !== 'object' || record === null || !valid(record)) fail(expected);
  return record;
}
