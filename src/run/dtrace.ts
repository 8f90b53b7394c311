// Finding DTrace and running one D program against one process, from start to the moment dtrace has
// printed its END output, whatever ends it: the target exiting, the duration, a signal to memtrace,
// or dtrace failing. The twin of bpftrace.ts + trace-session.ts for macOS.
//
// How the target is reached:
//   attach: `dtrace -Z -q -s PROGRAM -p PID`
//   launch: `dtrace -Z -q -s PROGRAM -c 'COMMAND ARGS'`. dtrace creates the process stopped, enables
//   the probes, then lets it run: the hold that target.ts builds from a shell shim and /proc for
//   bpftrace, dtrace does itself (and macOS has no /proc to watch a shim with). dtrace splits the -c
//   string on white space without a shell, so no argument may contain white space (refused with
//   UsageError: no quoting is attempted), and shell characters mean nothing.
// -Z lets the program name allocator functions a library lacks (probe descriptions matching nothing).
//
// Signals: SIGINT and SIGTERM to memtrace become SIGINT to dtrace, which then runs END and prints
// its aggregations (dtrace(1): "dtrace ... will ... exit ... upon receipt of SIGINT"), then SIGTERM
// and SIGKILL after grace periods. A watchdog (watchdog.ts) kills dtrace if memtrace itself dies.
//
// The messages recognised come from libdtrace's error table (dt_error.c: EDT_ACCESS "DTrace requires
// additional privileges", EDT_NOENT "DTrace device not available on system"), which dtrace(1)
// prints as "dtrace: failed to initialize dtrace: …"; dt_proc.c ("failed to grab pid %d: %s"); and
// macOS's SIP warning "system integrity protection is on, some features will not be available",
// printed before every run on a Mac with SIP on (so alone it is no error).
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TargetError, TracerError, UsageError } from '../errors.js';
import { findOnPath } from './bpftrace.js';
import { safeKill } from './target.js';
import { Watchdog } from './watchdog.js';

export interface Dtrace {
  path: string;
  /** `Sun D 1.13` as dtrace -V says, or null when it did not say. */
  version: string | null;
}

/** Where macOS keeps dtrace; sudo's PATH usually has /usr/sbin, a user's shell may not. */
const SYSTEM_DTRACE = '/usr/sbin/dtrace';

export async function findDtrace(options: { path?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Dtrace> {
  const env = options.env ?? process.env;
  const path = options.path ?? env.MEMTRACE_DTRACE ?? (await findOnPath('dtrace', env.PATH ?? '')) ?? ((await isExecutable(SYSTEM_DTRACE)) ? SYSTEM_DTRACE : null);
  if (path === null) {
    throw new TracerError(
      'dtrace not found in PATH or at /usr/sbin/dtrace: memtrace-dtrace needs macOS (or another system with DTrace); on Linux use memtrace-bpf, or pass --tracer-path',
    );
  }
  const result = await execa(path, ['-V'], { reject: false, timeout: 20_000, env });
  const version = /Sun D [0-9.]+/.exec(`${result.stdout}${result.stderr}`)?.[0] ?? null;
  if (result.failed && version === null) {
    const said = `${result.stderr}${result.stdout}`.split('\n').find((line) => line.trim() !== '') ?? '(no output)';
    throw new TracerError(`${path} -V did not report a DTrace version (exit ${result.exitCode ?? result.signal}): ${said.trim()}`);
  }
  return { path, version };
}

/** DTrace's pid provider needs root (or, on illumos, the dtrace_proc and dtrace_user privileges). */
export function requireDtracePrivileges(tool: string): void {
  if (process.getuid?.() !== 0) {
    throw new TracerError(`memtrace-dtrace ${tool} traces with DTrace, which needs root: re-run with sudo`, { exitCode: 77 });
  }
}

/** Whether a process exists (kill with signal 0: works on macOS, where /proc does not exist). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The -c string for dtrace: the command and its arguments joined by spaces, refused if that would split wrong. */
export function dtraceCommandString(command: string[]): string {
  if (command.length === 0) throw new UsageError('no command to launch after --');
  for (const part of command) {
    if (part === '' || /\s/.test(part)) {
      throw new UsageError(
        `dtrace -c splits the command on white space, so ${JSON.stringify(part)} cannot be passed as one argument: put the command in a script, or start it yourself and use -p PID`,
      );
    }
  }
  return command.join(' ');
}

export type DtraceTarget = { kind: 'attach'; pid: number } | { kind: 'launch'; command: string[] };

export type DtraceEndReason = 'target-exited' | 'duration' | 'signal' | 'tracer-exited' | 'tracer-died';

export interface DtraceSessionEnd {
  reason: DtraceEndReason;
  signal: NodeJS.Signals | null;
  tracerExit: { code: number | null; signal: string | null };
  /** dtrace's standard error lines that are not its `dtrace: ` notices. */
  tracerErrors: string[];
}

export interface DtraceSessionOptions {
  dtrace: Dtrace;
  program: string;
  target: DtraceTarget;
  /** memtrace's backstop to the program's own tick-Nms exit. */
  durationMs: number | null;
  /** The line the program prints first (BEGIN): every probe is enabled. */
  startMarker: string;
  onLine: (line: string) => void;
  /** Every line of dtrace's standard error (drop notices are counted by the caller). */
  onStderrLine?: (line: string) => void;
  onStarted?: () => void;
  /** dtrace is running as `tracerPid` (a launched command is its child: memtrace reads its maps while dtrace holds it). */
  onSpawned?: (tracerPid: number) => void;
}

const STOP_GRACE_MS = 15_000;
const KILL_GRACE_MS = 30_000;

export class DtraceSession {
  private tracerPid: number | undefined;
  private stopRequested: { reason: DtraceEndReason; signal: NodeJS.Signals | null } | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: DtraceSessionOptions) {}

  async run(): Promise<DtraceSessionEnd> {
    const onSignal = (signal: NodeJS.Signals) => this.stop('signal', signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    const directory = await mkdtemp(join(tmpdir(), 'memtrace-'));
    try {
      const programPath = join(directory, 'program.d');
      await writeFile(programPath, this.options.program, { mode: 0o600 });
      return await this.trace(programPath);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      for (const timer of this.timers) clearTimeout(timer);
      await rm(directory, { recursive: true, force: true });
    }
  }

  /** Ends the trace: dtrace gets SIGINT (it runs END), then SIGTERM, then SIGKILL. */
  stop(reason: DtraceEndReason, signal: NodeJS.Signals | null = null): void {
    if (this.stopRequested !== null) {
      // A second Ctrl-C: the user wants out now.
      if (reason === 'signal' && this.tracerPid !== undefined) safeKill(this.tracerPid, 'SIGTERM');
      return;
    }
    this.stopRequested = { reason, signal };
    const pid = this.tracerPid;
    if (pid === undefined) return;
    safeKill(pid, 'SIGINT');
    this.timers.push(setTimeout(() => safeKill(pid, 'SIGTERM'), STOP_GRACE_MS).unref(), setTimeout(() => safeKill(pid, 'SIGKILL'), KILL_GRACE_MS).unref());
  }

  private async trace(programPath: string): Promise<DtraceSessionEnd> {
    const { options } = this;
    const target = options.target;
    const args = ['-Z', '-q', '-s', programPath, ...(target.kind === 'attach' ? ['-p', String(target.pid)] : ['-c', dtraceCommandString(target.command)])];
    const watchdog = new Watchdog();
    const tracer = execa(options.dtrace.path, args, { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore', buffer: false, reject: false, cleanup: false });
    this.tracerPid = tracer.pid;
    if (tracer.pid === undefined) throw new TracerError(`cannot start ${options.dtrace.path}`);
    watchdog.watchTracer(tracer.pid);
    options.onSpawned?.(tracer.pid);
    if (this.stopRequested !== null) safeKill(tracer.pid, 'SIGINT');

    const stderrLines: string[] = [];
    let stderrRest = '';
    const takeStderr = (line: string) => {
      if (line.trim() === '') return;
      stderrLines.push(line);
      options.onStderrLine?.(line);
    };
    tracer.stderr.setEncoding('utf8');
    tracer.stderr.on('data', (chunk: string) => {
      const lines = (stderrRest + chunk).split('\n');
      stderrRest = lines.pop() ?? '';
      for (const line of lines) takeStderr(line);
    });

    let started = false;
    let durationTimer: NodeJS.Timeout | null = null;
    tracer.stdout.setEncoding('utf8');
    let rest = '';
    for await (const chunk of tracer.stdout as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!started && line.startsWith(options.startMarker)) {
          started = true;
          options.onStarted?.();
          if (options.durationMs !== null) durationTimer = setTimeout(() => this.stop('duration'), options.durationMs + 2_000);
        }
        options.onLine(line);
      }
    }
    if (rest !== '') options.onLine(rest);
    const result = await tracer;
    if (stderrRest !== '') takeStderr(stderrRest);
    if (durationTimer !== null) clearTimeout(durationTimer);
    watchdog.release();

    const tracerExit = { code: result.exitCode ?? null, signal: result.signal ?? null };
    const errors = stderrLines.filter((line) => !isNotice(line));
    if (!started) {
      if (this.stopRequested?.reason === 'signal') throw new TracerError(`interrupted by ${this.stopRequested.signal} before tracing started`, { exitCode: 130 });
      throw describeDtraceFailure(options.dtrace.path, tracerExit, stderrLines, target);
    }
    let reason: DtraceEndReason;
    if (this.stopRequested !== null) reason = this.stopRequested.reason;
    else if (tracerExit.signal !== null || (tracerExit.code ?? 0) !== 0) reason = 'tracer-died';
    else if (target.kind === 'launch' || !processAlive(target.pid)) reason = 'target-exited';
    else reason = options.durationMs !== null ? 'duration' : 'tracer-exited';
    return { reason, signal: this.stopRequested?.signal ?? null, tracerExit, tracerErrors: errors };
  }
}

/** dtrace's notices about a run (drops, matched probes, the target's exit): counted, not errors. */
function isNotice(line: string): boolean {
  return /^dtrace: (?:\[DTRACEDROP_[A-Z]+\] )?(?:\d+ |description |pid \d+ has exited|system integrity protection is on)/i.test(line);
}

const SIP_HELP =
  'System Integrity Protection restricts DTrace on this Mac. To allow it: restart into Recovery (hold Command-R on an Intel Mac, hold the power button on Apple silicon), open Terminal, run "csrutil enable --without dtrace", and restart. SIP never lets DTrace into Apple\'s own binaries (/bin, /usr/bin): trace a program you built or installed';

/** Why dtrace stopped before the program began, as a message that says what to do. */
export function describeDtraceFailure(
  path: string,
  exit: { code: number | null; signal: string | null },
  stderr: string[],
  target: DtraceTarget,
  isRoot: boolean = process.getuid?.() === 0,
): Error {
  const text = stderr.join('\n');
  const sip = /system integrity protection is on/i.test(text);
  // As root (memtrace checks before it starts dtrace) a refusal can only be SIP's, explained below.
  if (/DTrace requires additional privileges|insufficient privileges/i.test(text) && (!sip || !isRoot)) {
    return new TracerError('DTrace requires additional privileges: re-run with sudo', { exitCode: 77 });
  }
  if (/DTrace device not available on system/i.test(text)) {
    return new TracerError('DTrace device not available on system: this kernel has no DTrace (on Linux use memtrace-bpf)');
  }
  const grab = /failed to grab pid (\d+)(?::\s*(.*))?/i.exec(text);
  if (grab && (/no such process/i.test(grab[2] ?? '') || (target.kind === 'attach' && !processAlive(target.pid)))) {
    return new TargetError(`no process with PID ${grab[1]} (it may have exited)`);
  }
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const said = stderr.length > 0 ? `:\n${stderr.slice(0, 12).join('\n')}` : ' without a message';
  if (sip) return new TracerError(`dtrace (${path}) ${how} before tracing started${said}\n${SIP_HELP}`, { exitCode: 77 });
  return new TracerError(`dtrace (${path}) ${how} before tracing started${said}`);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
