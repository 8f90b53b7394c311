// One tracing session: bpftrace running a generated program against one target, from start to the
// moment bpftrace has printed its results, whatever ends it — the target exiting, the duration, a
// signal to memtrace, or bpftrace dying. Only this module and target.ts touch processes.
//
// Guarantees: the target is never killed or left stopped by memtrace (a held target is continued,
// and a watchdog continues it if memtrace itself is killed); bpftrace never outlives memtrace (it
// runs under `setpriv --pdeathsig KILL`, and the watchdog kills it too); SIGINT and SIGTERM to
// memtrace are forwarded to bpftrace as SIGINT so it prints what it gathered, then escalated.
// memtrace's own duration backstop sends SIGTERM instead (DurationBackstop says why).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TargetError, TracerError, UsageError } from '../errors.js';
import { isHarmlessTracerNotice, type Bpftrace } from './bpftrace.js';
import { settingsFor } from './bpftrace-features.js';
import { launchHeld, processState, safeKill, type LaunchedTarget, type TargetExit } from './target.js';
import { Watchdog } from './watchdog.js';

export type SessionTarget =
  | { kind: 'attach'; pid: number }
  | { kind: 'launch'; command: string[]; env: NodeJS.ProcessEnv; stdout: 'inherit' | 'stderr'; terminal: boolean; commandLibraryPath?: string };

/** The line every tool's program prints when its trace ends, before its results. */
export const PROGRAM_END_MARKER = 'memtrace:end';

/** How long past --duration the tracer may run before memtrace stops it: the program ends itself first. */
const DURATION_SLACK_MS = 2_000;

/**
 * memtrace's backstop to a program's own end at --duration: stops the tracer if the program did
 * not end itself in time. It stands down once the program printed PROGRAM_END_MARKER: the tracer
 * is then printing its results, which may take longer than the slack on a loaded machine, and a
 * SIGINT would cut them (seen in CI). Shared by the bpftrace and DTrace sessions.
 *
 * The marker can still be on its way when the timer fires. bpftrace 0.17 runs BEGIN before it
 * attaches its uprobes and starts the program's timer after them, so where attaching takes about
 * the slack (2 s on node, in CI) the program ends just as the backstop fires. The bpftrace session
 * therefore stops with SIGTERM on the backstop: every bpftrace from 0.17 to 0.27 ends its run on
 * SIGTERM as on SIGINT, and keeps ignoring SIGTERM once it prints its results, where it restores
 * SIGINT's default and dies of it (seen in CI: a whole trace reported partial, exit 4).
 */
export class DurationBackstop {
  private timer: NodeJS.Timeout | null = null;
  private ended = false;

  /** Starts the timer when tracing begins (nothing when there is no duration). */
  arm(durationMs: number | null, stop: () => void): void {
    if (durationMs !== null) this.timer = setTimeout(stop, durationMs + DURATION_SLACK_MS);
  }

  /** Each output line: the end marker disarms the timer. True for the end marker's line, once. */
  see(line: string): boolean {
    if (this.ended || !line.startsWith(PROGRAM_END_MARKER)) return false;
    this.ended = true;
    this.clear();
    return true;
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

export type EndReason = 'target-exited' | 'duration' | 'signal' | 'tracer-exited' | 'tracer-died';

export interface SessionEnd {
  reason: EndReason;
  /** The signal memtrace received, when reason is `signal`. */
  signal: NodeJS.Signals | null;
  tracerExit: { code: number | null; signal: string | null };
  /** bpftrace's standard error, without its harmless RLIMIT_MEMLOCK complaint. */
  tracerErrors: string[];
  /** Settles with the launched command's exit; null for an attached target. */
  targetExit: Promise<TargetExit> | null;
}

export interface TraceSessionOptions {
  bpftrace: Bpftrace;
  /** The bpftrace program, or a function rendering it for the PID (a launched command's is known late). */
  program: string | ((pid: number) => string);
  /** bpftrace --unsafe, needed for signal(). */
  unsafe: boolean;
  /** Extra environment for bpftrace (map sizes, ring buffer pages). */
  tracerEnv: Record<string, string>;
  target: SessionTarget;
  /** memtrace's own end of the trace, a backstop to the program's own timer. */
  durationMs: number | null;
  /** Every line bpftrace prints on stdout, in order. */
  onLine: (line: string) => void;
  /** Called once the program runs (BEGIN fired): all probes are attached. */
  onStarted?: (pid: number) => void;
  /** Told about lifecycle steps worth a status line. */
  onNotice?: (message: string) => void;
  /**
   * For a launched command: a program (for its PID) that lets it run until its loader has mapped its
   * libraries and stops it there, before the trace starts (probes/render-loader-gate-bpf.ts: a DWARF
   * trace needs the command's own maps when bpftrace starts).
   */
  loaderGate?: {
    program: (pid: number) => string;
    /** The line the gate's program prints once its probes are attached (the shim may then go on). */
    armedMarker: string;
    /** The line it prints when it has stopped the command. */
    gatedMarker: string;
  };
}

/** How long the loader gate may take to attach and then to see the command reach it. */
const GATE_TIMEOUT_MS = 60_000;

/**
 * How long a tracer may take to print its results after SIGINT before memtrace sends SIGTERM, and
 * SIGKILL at twice that: 15 s, unless MEMTRACE_STOP_GRACE (seconds, 0.1 to 3600) says otherwise. A
 * tracer with millions of map entries to print may need longer on a slow machine; the tests of a
 * deaf tracer use less. Shared by the bpftrace and DTrace sessions.
 */
export function stopGraceMs(env: NodeJS.ProcessEnv = process.env): { termMs: number; killMs: number } {
  const text = env.MEMTRACE_STOP_GRACE;
  if (text === undefined || text === '') return { termMs: 15_000, killMs: 30_000 };
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(seconds >= 0.1 && seconds <= 3600)) {
    throw new UsageError(`MEMTRACE_STOP_GRACE: expected seconds from 0.1 to 3600, got ${JSON.stringify(text)}`);
  }
  return { termMs: seconds * 1000, killMs: seconds * 2000 };
}

export class TraceSession {
  private tracer: { pid?: number } | null = null;
  private launched: LaunchedTarget | null = null;
  private readonly watchdog = new Watchdog();
  /** Read at the start: a bad MEMTRACE_STOP_GRACE is a usage error before anything runs, not in the middle of stopping. */
  private readonly grace = stopGraceMs();
  private stopRequested: { reason: EndReason; signal: NodeJS.Signals | null } | null = null;
  private escalation: NodeJS.Timeout[] = [];
  private started = false;
  private workDirectory: string | null = null;
  private heldPids = new Set<number>();

  constructor(private readonly options: TraceSessionOptions) {}

  /** The traced PID, known once run() has started the target. */
  pid: number | null = null;

  async run(): Promise<SessionEnd> {
    const { options } = this;
    const onSignal = (signal: NodeJS.Signals) => this.stop('signal', signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    try {
      this.workDirectory = await mkdtemp(join(tmpdir(), 'memtrace-'));
      if (options.target.kind === 'launch') {
        this.launched = await launchHeld(options.target);
        this.pid = this.launched.pid;
        this.watchdog.watchTarget(this.pid);
      } else {
        this.pid = options.target.pid;
      }
      if (this.launched !== null && options.loaderGate !== undefined) await this.passLoaderGate(options.loaderGate.program(this.pid), options.loaderGate);
      const programPath = join(this.workDirectory, 'program.bt');
      const program = typeof options.program === 'function' ? options.program(this.pid) : options.program;
      await writeFile(programPath, program, { mode: 0o600 });
      return await this.trace(programPath, this.pid);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      for (const timer of this.escalation) clearTimeout(timer);
      if (this.workDirectory !== null) await rm(this.workDirectory, { recursive: true, force: true });
    }
  }

  /**
   * Runs the loader gate's program on the held shim, lets the shim exec the command, and returns once
   * the command has stopped itself at the gate (the trace's own start continues it). A gate that
   * fails or a command that ends before the gate is an error: nothing of the command was traced.
   */
  private async passLoaderGate(program: string, markers: { armedMarker: string; gatedMarker: string }): Promise<void> {
    const { options } = this;
    const launched = this.launched!;
    const gatePath = join(this.workDirectory!, 'gate.bt');
    await writeFile(gatePath, program, { mode: 0o600 });
    const gate = execa('setpriv', ['--pdeathsig', 'KILL', '--', options.bpftrace.path, '--no-warnings', '--unsafe', '-p', String(launched.pid), gatePath], {
      stdout: 'pipe',
      stderr: 'pipe',
      stdin: 'ignore',
      buffer: false,
      reject: false,
      cleanup: false,
    });
    if (gate.pid === undefined) throw new TracerError(`cannot start ${options.bpftrace.path}`);
    this.watchdog.watchTracer(gate.pid);
    const timer = setTimeout(() => safeKill(gate.pid!, 'SIGKILL'), GATE_TIMEOUT_MS).unref();
    let errors = '';
    gate.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    let gated = false;
    gate.stdout.setEncoding('utf8');
    for await (const chunk of gate.stdout as AsyncIterable<string>) {
      if (chunk.includes(markers.armedMarker)) launched.resume();
      if (chunk.includes(markers.gatedMarker)) gated = true;
    }
    await gate;
    clearTimeout(timer);
    if (!gated || (await processState(launched.pid)) !== 'T') {
      // As when bpftrace fails before tracing: the command never ran past its loader, nothing is lost.
      safeKill(launched.pid, 'SIGKILL');
      launched.dispose();
      this.watchdog.release();
      const said = errors.split('\n').filter((line) => line.trim() !== '' && !isHarmlessTracerNotice(line)).slice(0, 6).join('\n');
      throw new TracerError(`the command did not reach the point where its libraries are loaded, where memtrace starts a DWARF trace${said === '' ? '' : `:\n${said}`}`);
    }
  }

  /**
   * Ends the trace: bpftrace gets SIGINT (it prints its maps), then SIGTERM, then SIGKILL. At the
   * duration backstop the first is SIGTERM, which cannot kill a bpftrace already printing (DurationBackstop).
   */
  stop(reason: EndReason, signal: NodeJS.Signals | null = null): void {
    if (this.stopRequested !== null) {
      // A second Ctrl-C: the user wants out now.
      if (reason === 'signal' && this.tracer?.pid !== undefined) safeKill(this.tracer.pid, 'SIGTERM');
      return;
    }
    this.stopRequested = { reason, signal };
    const tracerPid = this.tracer?.pid;
    if (tracerPid === undefined) return;
    safeKill(tracerPid, firstStopSignal(reason));
    const { grace } = this;
    this.escalation.push(
      setTimeout(() => safeKill(tracerPid, 'SIGTERM'), grace.termMs).unref(),
      setTimeout(() => safeKill(tracerPid, 'SIGKILL'), grace.killMs).unref(),
    );
  }

  /**
   * The program ended itself as the backstop fired: bpftrace prints its results as after any
   * program's own end, with no SIGTERM or SIGKILL timed to cut them.
   */
  private standDown(): void {
    for (const timer of this.escalation) clearTimeout(timer);
    this.escalation = [];
  }

  /** The target stopped itself (in exit(), so memtrace could read its maps): let it go on. */
  releaseHeld(pid: number): void {
    this.heldPids.delete(pid);
    safeKill(pid, 'SIGCONT');
  }

  /** Records that the target holds itself stopped until releaseHeld. */
  noteHeld(pid: number): void {
    this.heldPids.add(pid);
  }

  /** Called after the caller has used the target (maps read): finishes the session's bookkeeping. */
  finish(): void {
    this.launched?.dispose();
    this.watchdog.release();
  }

  private async trace(programPath: string, pid: number): Promise<SessionEnd> {
    const { options } = this;
    // --no-warnings: warnings about how memtrace's own program is written (bpftrace 0.25 and later
    // deprecate `while` and flag casts 0.17 needs) are for memtrace's compile tests, not each report.
    const args = ['--pdeathsig', 'KILL', '--', options.bpftrace.path, '--no-warnings', '-f', 'json', '-p', String(pid)];
    if (options.unsafe) args.push('--unsafe');
    args.push(programPath);
    const tracer = execa('setpriv', args, {
      stdout: 'pipe',
      stderr: 'pipe',
      stdin: 'ignore',
      buffer: false,
      reject: false,
      // Under the names this bpftrace reads (0.23 renamed some; the old names draw a warning per run).
      env: { ...process.env, ...settingsFor(options.bpftrace.features, options.tracerEnv) },
      // bpftrace must end by our signals, not by execa's own cleanup, so that it prints its maps.
      cleanup: false,
    });
    this.tracer = tracer;
    if (tracer.pid === undefined) throw new TracerError(`cannot start ${options.bpftrace.path}`);
    this.watchdog.watchTracer(tracer.pid);
    if (this.stopRequested !== null) safeKill(tracer.pid, firstStopSignal(this.stopRequested.reason));

    const errors: string[] = [];
    tracer.stderr.setEncoding('utf8');
    let stderrRest = '';
    tracer.stderr.on('data', (chunk: string) => {
      const lines = (stderrRest + chunk).split('\n');
      stderrRest = lines.pop() ?? '';
      for (const line of lines) if (isRealError(line)) errors.push(line);
    });

    const backstop = new DurationBackstop();
    const onBegin = () => {
      if (this.started) return;
      this.started = true;
      this.launched?.resume();
      options.onStarted?.(pid);
      backstop.arm(options.durationMs, () => this.stop('duration'));
    };

    let targetGone = false;
    const targetExit = this.launched?.exited ?? null;
    void targetExit?.then(() => {
      targetGone = true;
    });

    tracer.stdout.setEncoding('utf8');
    let rest = '';
    for await (const chunk of tracer.stdout as AsyncIterable<string>) {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!this.started && line.includes('memtrace:begin')) onBegin();
        else if (backstop.see(line) && this.stopRequested?.reason === 'duration') this.standDown();
        options.onLine(line);
      }
    }
    if (rest !== '') options.onLine(rest);
    const result = await tracer;
    if (stderrRest !== '' && isRealError(stderrRest)) errors.push(stderrRest);
    backstop.clear();

    const tracerExit = { code: result.exitCode ?? null, signal: result.signal ?? null };
    if (!this.started) {
      if (this.launched !== null) {
        // The shim never ran the command: nothing of the user's is lost by ending it.
        safeKill(this.launched.pid, 'SIGKILL');
        this.launched.dispose();
      }
      this.watchdog.release();
      if (this.stopRequested?.reason === 'signal') {
        throw new TracerError(`interrupted by ${this.stopRequested.signal} before tracing started`, { exitCode: 130 });
      }
      throw describeStartFailure(options.bpftrace.path, tracerExit, errors, pid);
    }
    // Whatever happened, a target that memtrace or its program stopped goes on running.
    this.launched?.resume();
    for (const held of this.heldPids) safeKill(held, 'SIGCONT');

    let reason: EndReason;
    if (this.stopRequested !== null) reason = this.stopRequested.reason;
    else if (tracerExit.signal !== null || (tracerExit.code ?? 0) !== 0) reason = 'tracer-died';
    else if (targetGone || (await processState(pid)) === null) reason = 'target-exited';
    else reason = options.durationMs !== null ? 'duration' : 'tracer-exited';
    return {
      reason,
      signal: this.stopRequested?.signal ?? null,
      tracerExit,
      tracerErrors: errors,
      targetExit,
    };
  }
}

/** The signal that asks bpftrace to end its trace and print its results (DurationBackstop: why SIGTERM there). */
function firstStopSignal(reason: EndReason): NodeJS.Signals {
  return reason === 'duration' ? 'SIGTERM' : 'SIGINT';
}

/** Everything bpftrace prints on stderr counts, but its harmless notices (isHarmlessTracerNotice). */
function isRealError(line: string): boolean {
  return line.trim() !== '' && !isHarmlessTracerNotice(line);
}

function describeStartFailure(path: string, exit: { code: number | null; signal: string | null }, errors: string[], pid: number): Error {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const detail = errors.length > 0 ? `:\n${errors.slice(0, 12).join('\n')}` : ' without a message';
  if (errors.some((line) => /No such process|pid .* does not exist|process .* not found/i.test(line))) {
    return new TargetError(`no process with PID ${pid} (it may have exited)`);
  }
  return new TracerError(`bpftrace (${path}) ${how} before tracing started${detail}`);
}
