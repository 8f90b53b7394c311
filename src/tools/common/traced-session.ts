// The lifecycle every bpftrace tool's trace shares, written once: the session's target (a launched
// command kept off a report written to stdout), the session run while the target's mappings are
// watched (for the tools whose stacks need them), and the end — the raw log's last records, the
// reports, the partial-trace notice, and the exit code.
import type { OutputError } from '../../errors.js';
import { exitCodeOf } from '../../run/launch.js';
import type { Target } from '../../run/target.js';
import { TraceSession, type SessionEnd, type SessionTarget, type TraceSessionOptions } from '../../run/trace-session.js';
import type { ToolIo } from './tracing.js';
import type { OutputStream } from './output-file.js';
import { announcePartial, tracerFailed } from './session-loss.js';
import type { TargetWatch } from './target-watch.js';
import type { TracedSpan } from './traced-span.js';

export interface LaunchSettings {
  /** The command's resolved path (a private copy, a real binary for a script), followed by its arguments. */
  path: string;
  env: NodeJS.ProcessEnv;
  commandLibraryPath?: string;
  /** Whether the command may have a terminal of its own (false for an interpreter held at its first line). */
  terminal?: boolean;
}

/**
 * The session's target for a tool's: an attached PID as is; a launched command with its output on
 * stderr when a report goes to a stdout that is not a terminal (the two never mix).
 */
export function sessionTarget(target: Target, launch: LaunchSettings, reportsToStdout: boolean, io: ToolIo): SessionTarget {
  if (target.kind === 'attach') return { kind: 'attach', pid: target.pid };
  return {
    kind: 'launch',
    command: [launch.path, ...target.command.slice(1)],
    env: launch.env,
    ...(launch.commandLibraryPath === undefined ? {} : { commandLibraryPath: launch.commandLibraryPath }),
    stdout: reportsToStdout && !io.stdout.isTTY ? 'stderr' : 'inherit',
    terminal: launch.terminal ?? Boolean(process.stdin.isTTY && (io.stdout.isTTY || io.stderr.isTTY)),
  };
}

/** The "tracing …; Ctrl-C to stop" line, with the duration when there is one. */
export function tracingLine(what: string, durationMs: number | null): string {
  return `memtrace: tracing ${what}${durationMs === null ? '' : ` for ${durationMs / 1000} s`}; Ctrl-C to stop\n`;
}

export interface WatchedTrace {
  session: Omit<TraceSessionOptions, 'onStarted' | 'onLine'>;
  target: Target;
  watch: TargetWatch;
  span: TracedSpan;
  io: ToolIo;
  raw: OutputStream | null;
  /** What the tracing line says is traced, for the PID ("page faults, brk and mmap of PID 42"). */
  announce(pid: number): string;
  /** The raw log's header record's data. */
  header(pid: number): unknown;
  /** Each line of the program's output; `held(pid)` when the line says the target stopped itself at exit. */
  onLine(line: string, held: (pid: number) => void): void;
  /** Called when the session has ended, before the maps are read (a status line to clear). */
  onEnded?(): void;
}

/**
 * Runs a session whose target's mappings are watched from before the start (attached) or its first
 * line (launched) to its end, including a command held in its exit() so its last maps can be read.
 * Returns the end, and the traced PID (null when the target never started).
 */
export async function runWatchedTrace(trace: WatchedTrace): Promise<{ end: SessionEnd; pid: number | null }> {
  const { watch, span, raw, io } = trace;
  const session: TraceSession = new TraceSession({
    ...trace.session,
    onStarted: (pid) => {
      span.began();
      io.stderr.write(tracingLine(trace.announce(pid), trace.session.durationMs));
      watch.started(pid, session);
      raw?.write(`${JSON.stringify({ type: 'memtrace_header', data: trace.header(pid) })}\n`);
    },
    onLine: (line) => {
      span.line(line);
      raw?.write(`${line}\n`);
      trace.onLine(line, (pid) => watch.held(pid, session));
    },
  });
  if (trace.target.kind === 'attach') await watch.before(trace.target.pid);
  let end: SessionEnd;
  try {
    end = await session.run();
  } finally {
    span.ended();
    watch.stopPolling();
    trace.onEnded?.();
  }
  await watch.readMaps();
  session.finish();
  return { end, pid: watch.tracedPid };
}

export interface TraceEnding {
  io: ToolIo;
  end: SessionEnd;
  /** The raw log, if any, and the records written after the tracer's output (maps, symbols, trailer). */
  raw: OutputStream | null;
  records: Array<{ type: string; data: unknown }>;
  /** Other logs written along the trace (--events), closed after the raw log. */
  logs?: OutputStream[];
  writeReports(): Promise<void>;
  partialReason: string | null;
  /** The launched command's exit, when it is not the session's (calls holds its interpreter itself). */
  targetExit?: SessionEnd['targetExit'];
}

/**
 * Ends a trace the one way: the raw log's last records and its close, the reports, the notice of a
 * partial trace; then a log the disk cut short fails (the reports are out by then), and the exit
 * code is the launched command's, or 4 when the tracer failed.
 */
export async function endTrace(ending: TraceEnding): Promise<number> {
  const { raw, end, io } = ending;
  let failure: OutputError | null = null;
  if (raw !== null) {
    for (const record of ending.records) raw.write(`${JSON.stringify(record)}\n`);
    failure = await raw.close();
  }
  for (const log of ending.logs ?? []) {
    const closed = await log.close();
    failure ??= closed;
  }
  await ending.writeReports();
  announcePartial(io.stderr, ending.partialReason);
  if (failure !== null) throw failure;
  const targetExit = ending.targetExit ?? end.targetExit;
  if (targetExit !== null) return exitCodeOf(await targetExit);
  return tracerFailed(end) ? 4 : 0;
}
