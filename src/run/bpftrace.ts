// Finding and checking bpftrace before anything is started: a missing or old tracer, a user who is
// not root and an unmounted tracefs each get a message that says what to do.
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { TracerError } from '../errors.js';
import { BASELINE_FEATURES, describeFeatures, probeBpftraceFeatures, type BpftraceFeatures } from './bpftrace-features.js';
import { findPrivateBpftrace } from './private-bpftrace.js';
import { exists, isExecutable } from './file-access.js';

/**
 * Lines bpftrace prints on every run of this kind of machine that say nothing about the trace:
 * - RLIMIT_MEMLOCK: 0.17 (an ERROR) and 0.23 (a WARNING) cannot raise it, and need not;
 * - available_filter_functions: 0.25 and later read it to vet kprobes; a kernel without function
 *   tracing has none, and memtrace places no kprobes.
 */
export function isHarmlessTracerNotice(line: string): boolean {
  return line.includes('RLIMIT_MEMLOCK') || line.includes('available_filter_functions');
}

/** The oldest bpftrace memtrace's scripts are written and tested for (Debian 12's). */
export const MIN_BPFTRACE_VERSION: readonly [number, number] = [0, 17];

export interface Bpftrace {
  path: string;
  /** null when memtrace could not ask (a script printed on a machine without bpftrace). */
  version: string | null;
  features: BpftraceFeatures;
  /** How it was found, when that is not obvious from the path (the private root of setup-bpftrace). */
  origin?: string;
}

/**
 * Which bpftrace memtrace runs, in this order: the one the user named (--tracer-path, then
 * $MEMTRACE_BPFTRACE), the private root's that `memtrace setup-bpftrace` installed (newer than the
 * distribution's, so it is preferred to it), then bpftrace on PATH.
 */
export async function locateBpftrace(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LocatedBpftrace | null> {
  const env = options.env ?? process.env;
  if (options.path !== undefined) return { path: options.path, source: 'option' };
  if (env.MEMTRACE_BPFTRACE !== undefined) return { path: env.MEMTRACE_BPFTRACE, source: 'env' };
  const privateBpftrace = findPrivateBpftrace(env);
  if (privateBpftrace !== null) return { path: privateBpftrace, origin: 'memtrace setup-bpftrace', source: 'private-root' };
  const onPath = await findOnPath('bpftrace', env.PATH ?? '');
  return onPath === null ? null : { path: onPath, source: 'path' };
}

export interface LocatedBpftrace {
  path: string;
  origin?: string;
  /** Which rule of locateBpftrace's order found it: --tracer-path, $MEMTRACE_BPFTRACE, the private root, PATH. */
  source: 'option' | 'env' | 'private-root' | 'path';
}

export async function findBpftrace(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Bpftrace> {
  const env = options.env ?? process.env;
  const located = await locateBpftrace({ path: options.path, env });
  if (located === null) {
    throw new TracerError(
      'bpftrace not found in PATH: install it (Debian/Ubuntu: sudo apt-get install bpftrace) or pass --tracer-path; "sudo memtrace-bpf setup-bpftrace" installs a newer one, with DWARF stacks, for memtrace alone',
    );
  }
  const { path, origin } = located;
  const result = await execa(path, ['--version'], { reject: false, timeout: 20_000, env });
  const match = /bpftrace v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(`${result.stdout}`);
  if (result.failed || !match) {
    throw new TracerError(
      `${path} --version did not report a bpftrace version (exit ${result.exitCode ?? result.signal}): ${firstLine(`${result.stderr}${result.stdout}`)}`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major < MIN_BPFTRACE_VERSION[0] || (major === MIN_BPFTRACE_VERSION[0] && minor < MIN_BPFTRACE_VERSION[1])) {
    throw new TracerError(
      `bpftrace ${major}.${minor}.${match[3] ?? '0'} at ${path} is too old: memtrace needs ${MIN_BPFTRACE_VERSION.join('.')} or later`,
    );
  }
  const found: Bpftrace = { path, version: `${major}.${minor}.${match[3] ?? '0'}`, features: await probeBpftraceFeatures(path, env) };
  return origin === undefined ? found : { ...found, origin };
}

/**
 * The bpftrace a command writes its program for. Tracing needs a working one; `--print-script` only
 * prints, so there a missing bpftrace means the script is written for the oldest supported one.
 */
export async function findTracer(options: { path: string | null; printScript: boolean }): Promise<Bpftrace> {
  if (!options.printScript) return findBpftrace({ path: options.path ?? undefined });
  try {
    return await findBpftrace({ path: options.path ?? undefined });
  } catch {
    return { path: options.path ?? 'bpftrace', version: null, features: BASELINE_FEATURES };
  }
}

/**
 * The comment lines that open a printed or run program: which bpftrace it was written for, what that
 * bpftrace was found able to do, and what memtrace chose because of it.
 */
export function tracerComment(bpftrace: Bpftrace, choices: readonly string[]): string {
  const found =
    bpftrace.version === null
      ? 'no bpftrace found: written for bpftrace 0.17'
      : `written for bpftrace ${bpftrace.version} (${bpftrace.path}${bpftrace.origin === undefined ? '' : `, from ${bpftrace.origin}`})`;
  const lines = [
    `memtrace: ${found}`,
    ...describeFeatures(bpftrace.features).map((line) => `  ${line}`),
    ...choices.map((choice) => `memtrace: ${choice}`),
  ];
  return `${lines.map((line) => `// ${line.replace(/[\r\n]+/g, ' ')}`).join('\n')}\n`;
}

/** bpftrace loads BPF programs and places uprobes: that takes root (or CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN). */
export function requireRoot(tool: string): void {
  if (process.getuid?.() !== 0) {
    throw new TracerError(`memtrace ${tool} traces with bpftrace, which needs root: re-run with sudo`, { exitCode: 77 });
  }
}

const TRACEFS = '/sys/kernel/tracing';

/**
 * bpftrace 0.17 creates uprobes through tracefs; on a fresh machine it may not be mounted (bpftrace then
 * fails with "open(/sys/kernel/tracing/uprobe_events): No such file"). As root we mount it, and say so.
 */
export async function ensureTracefs(notify: (message: string) => void): Promise<void> {
  if (await exists(join(TRACEFS, 'uprobe_events'))) return;
  if (await exists('/sys/kernel/debug/tracing/uprobe_events')) return;
  const mounted = await execa('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { reject: false });
  if (mounted.failed || !(await exists(join(TRACEFS, 'uprobe_events')))) {
    throw new TracerError(
      `tracefs is not mounted at ${TRACEFS} and mounting it failed (${firstLine(`${mounted.stderr}`)}): run "mount -t tracefs nodev ${TRACEFS}"`,
    );
  }
  notify(`memtrace: mounted tracefs at ${TRACEFS} (uprobes need it)`);
}

/** The PIDs namespace check: a PID that is not there is the user's typo, not a tracer failure. */
export async function processExists(pid: number): Promise<boolean> {
  try {
    await readFile(`/proc/${pid}/stat`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

export async function findOnPath(command: string, searchPath: string): Promise<string | null> {
  if (command.includes('/')) return (await isExecutable(command)) ? command : null;
  for (const directory of searchPath.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((line) => line.trim() !== '' && !isHarmlessTracerNotice(line))
      ?.trim() ?? '(no output)'
  );
}
