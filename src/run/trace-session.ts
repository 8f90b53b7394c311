// One tracing session: bpftrace running a generated program against one target, from start to the
// moment bpftrace has printed its results, whatever ends it — the target exiting, the duration, a
// signal to memtrace, or bpftrace dying. Only this module and target.ts touch processes.
//
// Guarantees: the target is never killed or left stopped by memtrace (a held target is continued,
// and a watchdog continues it if memtrace itself is killed); bpftrace never outlives memtrace (it
// runs under `setpriv --pdeathsig KILL`, and the watchdog kills it too); SIGINT and SIGTERM to
// memtrace are forwarded to bpftrace as SIGINT so it prints what it gathered, then escalated; once the
// program runs, the SIGINT waits for bpftrace to have read its buffers (tracer-settle.ts says why).
// memtrace's own duration backstop sends SIGTERM instead (DurationBackstop says why).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { TargetError, TracerError } from '../errors.js';
import { isHarmlessTracerNotice, type Bpftrace } from './bpftrace.js';
import { settingsFor } from './bpftrace-features.js';
import { launchHeld, processState, safeKill, type LaunchedTarget, type TargetExit } from './target.js';
import { settleTracer } from './tracer-settle.js';
import { Watchdog } from './watchdog.js';
import { DurationBackstop, endReasonOf, TracerStopper, type EndReason, type SessionEndCommon } from './session-end.js';

export type SessionTarget =
  | { kind: 'attach'; pid: number }
  | {
      kind: 'launch';
      command: string[];
      env: NodeJS.ProcessEnv;
      stdout: 'inherit' | 'stderr';
      terminal: boolean;
      commandLibraryPath?: string;
    };

export interface SessionEnd extends SessionEndCommon {
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

export class TraceSession {
  private launched: LaunchedTarget | null = null;
  private readonly watchdog = new Watchdog();
  /** Once the program runs, a stop waits for bpftrace to have read what its probes wrote (tracer-settle.ts). */
  private readonly stopper = new TracerStopper(firstStopSignal, (pid) => (this.started ? settleTracer(pid) : Promise.resolve(true)));
  private started = false;
  private workDirectory: string | null = null;
  private heldPids = new Set<number>();

  constructor(private readonly options: TraceSessionOptions) {}

  /** The traced PID, known once run() has started the target. */
  pid: number | null = null;

  async run(): Promise<SessionEnd> {
    const { options } = this;
    const stopListening = this.stopper.listen();
    try {
      this.workDirectory = await mkdtemp(join(tmpdir(), 'memtrace-'));
      if (options.target.kind === 'launch') {
        this.launched = await launchHeld(options.target);
        this.pid = this.launched.pid;
        this.watchdog.watchTarget(this.pid);
      } else {
        this.pid = options.target.pid;
      }
      if (this.launched !== null && options.loaderGate !== undefined)
        await this.passLoaderGate(options.loaderGate.program(this.pid), options.loaderGate);
      const programPath = join(this.workDirectory, 'program.bt');
      const program = typeof options.program === 'function' ? options.program(this.pid) : options.program;
      await writeFile(programPath, program, { mode: 0o600 });
      return await this.trace(programPath, this.pid);
    } finally {
      stopListening();
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
    const gate = execa(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', options.bpftrace.path, '--no-warnings', '--unsafe', '-p', String(launched.pid), gatePath],
      {
        stdout: 'pipe',
        stderr: 'pipe',
        stdin: 'ignore',
        buffer: false,
        reject: false,
        cleanup: false,
      },
    );
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
      const said = errors
        .split('\n')
        .filter((line) => line.trim() !== '' && !isHarmlessTracerNotice(line))
        .slice(0, 6)
        .join('\n');
      throw new TracerError(
        `the command did not reach the point where its libraries are loaded, where memtrace starts a DWARF trace${said === '' ? '' : `:\n${said}`}`,
      );
    }
  }

  /**
   * Ends the trace: bpftrace gets SIGINT (it prints its maps), then SIGTERM, then SIGKILL. At the
   * duration backstop the first is SIGTERM, which cannot kill a bpftrace already printing (DurationBackstop).
   */
  stop(reason: EndReason, signal: NodeJS.Signals | null = null): void {
    this.stopper.stop(reason, signal);
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
    if (tracer.pid === undefined) throw new TracerError(`cannot start ${options.bpftrace.path}`);
    this.watchdog.watchTracer(tracer.pid);
    this.stopper.tracerStarted(tracer.pid);

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
        // The program ended itself as the backstop fired: its results are not to be cut.
        else if (backstop.see(line) && this.stopper.request?.reason === 'duration') this.stopper.standDown();
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
      if (this.stopper.request?.reason === 'signal') {
        throw new TracerError(`interrupted by ${this.stopper.request.signal} before tracing started`, { exitCode: 130 });
      }
      throw describeStartFailure(options.bpftrace.path, tracerExit, errors, pid);
    }
    // Whatever happened, a target that memtrace or its program stopped goes on running.
    this.launched?.resume();
    for (const held of this.heldPids) safeKill(held, 'SIGCONT');

    const request = this.stopper.request;
    const gone = request === null && (targetGone || (await processState(pid)) === null);
    return {
      reason: endReasonOf(request, tracerExit, gone, options.durationMs),
      signal: request?.signal ?? null,
      tracerExit,
      tracerErrors: errors,
      stoppedBehind: this.stopper.stoppedBehind,
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
