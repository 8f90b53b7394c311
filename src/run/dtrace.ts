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
import { closeSync, openSync } from 'node:fs';
import { constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TargetError, TracerError, UsageError } from '../errors.js';
import { findOnPath } from './bpftrace.js';
import { ensureDebugfs, removeDtraceUprobes, UPROBE_EVENTS } from './dtrace-linux.js';
import { DTRACE_LEAN_ENV, findPrivateDtrace, privateRootDirectory } from './private-bpftrace.js';
import type { Target } from './target.js';
import { DurationBackstop, endReasonOf, TracerStopper, type EndReason, type SessionEndCommon } from './session-end.js';
import { Watchdog } from './watchdog.js';
import { isExecutable } from './file-access.js';

export interface Dtrace {
  path: string;
  /** As `dtrace -V` says it: `D 2.0.7` (DTrace for Linux), `Sun D 1.13` (macOS); null when it did not say. */
  version: string | null;
  /**
   * Which DTrace: `linux` is Oracle's DTrace for Linux (2.0 and later, built on BPF; `dtrace: D 2.0.7`),
   * `sun` the Sun lineage of macOS, illumos and FreeBSD (`dtrace: Sun D 1.13`); null when -V said neither.
   */
  kind: 'linux' | 'sun' | null;
}

/** Where macOS keeps dtrace; sudo's PATH usually has /usr/sbin, a user's shell may not. */
const SYSTEM_DTRACE = '/usr/sbin/dtrace';

/**
 * The dtrace memtrace runs: --tracer-path, else $MEMTRACE_DTRACE, else the private root's DIR/dtrace
 * (`memtrace setup-bpftrace --include-dtrace`; the same root, by the same rule, as the private
 * bpftrace), else dtrace on PATH, else /usr/sbin/dtrace.
 */
export async function findDtrace(options: { path?: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): Promise<Dtrace> {
  const env = options.env ?? process.env;
  const path =
    options.path ??
    (env.MEMTRACE_DTRACE || null) ??
    findPrivateDtrace(env) ??
    (await findOnPath('dtrace', env.PATH ?? '')) ??
    ((await isExecutable(SYSTEM_DTRACE)) ? SYSTEM_DTRACE : null);
  if (path === null) throw dtraceNotFound(options.platform ?? process.platform, privateRootDirectory(env));
  const result = await execa(path, ['-V'], { reject: false, timeout: 20_000, env });
  const version = parseDtraceVersion(`${result.stdout}${result.stderr}`);
  if (result.failed && version === null) {
    const said = `${result.stderr}${result.stdout}`.split('\n').find((line) => line.trim() !== '') ?? '(no output)';
    throw new TracerError(`${path} -V did not report a DTrace version (exit ${result.exitCode ?? result.signal}): ${said.trim()}`);
  }
  return { path, version, kind: dtraceKind(version) };
}

/** `D 2.0.7` or `Sun D 1.13` from what `dtrace -V` printed, or null. */
export function parseDtraceVersion(text: string): string | null {
  return /\b(?:Sun )?D \d+(?:\.\d+)+/.exec(text)?.[0] ?? null;
}

export function dtraceKind(version: string | null): Dtrace['kind'] {
  if (version === null) return null;
  return version.startsWith('Sun ') ? 'sun' : 'linux';
}

function dtraceNotFound(platform: NodeJS.Platform, privateRoot: string | null): TracerError {
  const looked = `dtrace not found in PATH or at ${SYSTEM_DTRACE}`;
  if (platform === 'linux') {
    return new TracerError(
      `${looked}${privateRoot === null ? '' : ` or in memtrace's private root ${privateRoot}`}: on Linux, run "sudo memtrace setup-bpftrace --include-dtrace" to install DTrace for Linux for memtrace (or use memtrace-bpf), or pass --tracer-path`,
    );
  }
  return new TracerError(`${looked}: memtrace-dtrace needs macOS (or another system with DTrace), or pass --tracer-path`);
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

export interface DtraceSessionEnd extends SessionEndCommon {
  /** The output's last line when it had no newline: dtrace died while printing it (not given to onLine). */
  cutLine: string | null;
}

export interface DtraceSessionOptions {
  dtrace: Dtrace;
  program: string;
  target: Target;
  /** memtrace's backstop to the program's own tick-Nms exit. */
  durationMs: number | null;
  /** The line the program prints first (BEGIN): every probe is enabled. */
  startMarker: string;
  onLine: (line: string) => void;
  /** Every line of dtrace's standard error (drop notices are counted by the caller). */
  onStderrLine?: (line: string) => void;
  onStarted?: () => void;
  /** memtrace's own notices (debugfs mounted, stale probes removed); standard error by default. */
  notify?: (message: string) => void;
  /** dtrace is running as `tracerPid` (a launched command is its child: memtrace reads its maps while dtrace holds it). */
  onSpawned?: (tracerPid: number) => void;
}

/** How long dtrace's standard error may take to end after dtrace exited (a launched command may hold it). */
const STDERR_DRAIN_MS = 300;

export class DtraceSession {
  /** dtrace ends its trace on SIGINT at any time, printing END's output (session-end.ts). */
  private readonly stopper = new TracerStopper(() => 'SIGINT');
  /** A launched command's output FIFO, closed when the session ends however it ends (an open read end keeps node alive). */
  private outputFifo: OutputFifo | null = null;

  constructor(private readonly options: DtraceSessionOptions) {}

  async run(): Promise<DtraceSessionEnd> {
    const stopListening = this.stopper.listen();
    const directory = await mkdtemp(join(tmpdir(), 'memtrace-'));
    try {
      const programPath = join(directory, 'program.d');
      await writeFile(programPath, this.options.program, { mode: 0o600 });
      return await this.trace(programPath, directory);
    } finally {
      stopListening();
      this.outputFifo?.close();
      await rm(directory, { recursive: true, force: true });
    }
  }

  /** Ends the trace: dtrace gets SIGINT (it runs END), then SIGTERM, then SIGKILL. */
  stop(reason: EndReason, signal: NodeJS.Signals | null = null): void {
    this.stopper.stop(reason, signal);
  }

  private async trace(programPath: string, directory: string): Promise<DtraceSessionEnd> {
    const { options } = this;
    const target = options.target;
    const notify = options.notify ?? ((message: string) => process.stderr.write(`${message}\n`));
    const forLinux = options.dtrace.kind === 'linux' && process.platform === 'linux';
    if (forLinux) await ensureDebugfs(notify);
    // A launched command inherits dtrace's standard output: the program's records go to a FIFO
    // (-o) instead, so the command's own output reaches the terminal and never lands mid-record.
    const fifo = target.kind === 'launch' ? await openOutputFifo(join(directory, 'output')) : null;
    this.outputFifo = fifo;
    const args = [
      '-Z',
      '-q',
      '-s',
      programPath,
      ...(target.kind === 'attach' ? ['-p', String(target.pid)] : ['-c', dtraceCommandString(target.command)]),
    ];
    if (fifo !== null) args.push('-o', fifo.path);
    const watchdog = new Watchdog();
    const tracer = execa(options.dtrace.path, args, {
      // The private root's wrapper then gives dtrace the lean libdir (private-bpftrace.ts).
      env: DTRACE_LEAN_ENV,
      stdout: fifo === null ? 'pipe' : 'inherit',
      stderr: 'pipe',
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: false,
    });
    if (tracer.pid === undefined) throw new TracerError(`cannot start ${options.dtrace.path}`);
    watchdog.watchTracer(tracer.pid);
    // A killed DTrace for Linux leaves its uprobe_events entries behind (dtrace-linux.ts): the guard
    // removes them if memtrace dies too, memtrace itself below.
    if (forLinux) watchdog.watchDtraceUprobes(UPROBE_EVENTS);
    options.onSpawned?.(tracer.pid);
    this.stopper.tracerStarted(tracer.pid);

    const stderrLines: string[] = [];
    let stderrRest = '';
    const takeStderr = (line: string) => {
      if (line.trim() === '') return;
      // A launched command writes to dtrace's standard error too: its lines go on to the terminal.
      if (fifo !== null && !line.startsWith('dtrace:')) {
        process.stderr.write(`${line}\n`);
        return;
      }
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
    const backstop = new DurationBackstop();
    const output = fifo === null ? tracer.stdout! : fifo.stream;
    // The FIFO ends once dtrace is gone: memtrace's own write end, which kept it open until dtrace
    // opened it, is closed then (dtrace does not pass its -o file on to the command).
    // dtrace's exit, not the end of its streams: a launched command holds dtrace's standard error
    // (and, for a killed dtrace, outlives it).
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      tracer.once('exit', (code, signal) => resolve({ code, signal })),
    );
    void tracer.catch(() => undefined);
    if (fifo !== null) void exited.then(() => fifo.release());
    output.setEncoding('utf8');
    let rest = '';
    for await (const chunk of output as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!started && line.startsWith(options.startMarker)) {
          started = true;
          options.onStarted?.();
          backstop.arm(options.durationMs, () => this.stop('duration'));
        } else backstop.see(line);
        options.onLine(line);
      }
    }
    // dtrace ends every line it prints: a last line without its newline was cut by dtrace's death.
    const cutLine = rest === '' ? null : rest;
    const exit = await exited;
    await streamEnd(tracer.stderr, STDERR_DRAIN_MS);
    if (stderrRest !== '') takeStderr(stderrRest);
    backstop.clear();
    watchdog.release();
    if (forLinux) {
      const left = await removeDtraceUprobes(tracer.pid, processAlive);
      if (left.length > 0)
        notify(`memtrace: removed the ${left.length} uprobe_events entries dtrace (PID ${tracer.pid}) left behind: ${left.join(', ')}`);
    }

    const tracerExit = exit;
    const errors = stderrLines.filter((line) => !isNotice(line));
    if (!started) {
      if (this.stopper.request?.reason === 'signal')
        throw new TracerError(`interrupted by ${this.stopper.request.signal} before tracing started`, { exitCode: 130 });
      throw describeDtraceFailure(options.dtrace.path, tracerExit, stderrLines, target);
    }
    const request = this.stopper.request;
    const gone = target.kind === 'launch' || !processAlive(target.pid);
    return {
      reason: endReasonOf(request, tracerExit, gone, options.durationMs),
      signal: request?.signal ?? null,
      tracerExit,
      tracerErrors: errors,
      // Always false: this stopper has no settle step (dtrace.c consumes its buffers once more after dtrace_stop).
      stoppedBehind: this.stopper.stoppedBehind,
      cutLine,
    };
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
  target: Target,
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

/** Waits for a stream's end, at most `ms`; then lets go of it. */
async function streamEnd(stream: Readable, ms: number): Promise<void> {
  if (!stream.readableEnded) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([once(stream, 'end').catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
  stream.destroy();
}

/**
 * A FIFO for dtrace's -o, read by memtrace. Opened without blocking (dtrace opens it only after
 * compiling the program, and may fail before that), with a write end of memtrace's own so that the
 * reader sees no end of file before dtrace has opened it; release() closes that end.
 */
interface OutputFifo {
  path: string;
  stream: Socket;
  /** Closes memtrace's write end: the reader sees the end of file once dtrace's is closed too. */
  release: () => void;
  /** Closes both ends. */
  close: () => void;
}

async function openOutputFifo(path: string): Promise<OutputFifo> {
  const made = await execa('mkfifo', ['-m', '600', path], { reject: false });
  if (made.failed)
    throw new TracerError(
      `cannot make a FIFO for dtrace's output at ${path}: ${`${made.stderr}`.trim() || `mkfifo exited with ${made.exitCode}`}`,
    );
  const readEnd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let keeper: number | null = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  const stream = new Socket({ fd: readEnd, readable: true, writable: false });
  const release = () => {
    if (keeper === null) return;
    closeSync(keeper);
    keeper = null;
  };
  const close = () => {
    release();
    stream.destroy();
  };
  return { path, stream, release, close };
}
