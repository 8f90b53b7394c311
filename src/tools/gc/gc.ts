// The gc tool: every V8 garbage collection of one stock node process — kind, reason, pause, RSS
// either side — from uprobes on V8's Heap::PerformGarbageCollection (found by its demangled name in
// the target's own node binary) or Node's gc__start/gc__done USDT probes where the binary has them.
// Composes target binary → probe point → spec → program → session → parser → reduce → reports.
import { open, readlink, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { TargetError } from '../../errors.js';
import { openOutputStream } from '../common/output-file.js';
import { gcKindOf, reasonName, type GcLog, type GcLogHeader } from '../../model/gc-log.js';
import { GcLogParser, type GcRawCollection } from '../../parse/gc-log.js';
import { buildGcSpec, type GcSpec } from '../../probes/gc-spec.js';
import { renderGcBpf } from '../../probes/render-gc-bpf.js';
import { processExists, tracerComment, type Bpftrace } from '../../run/bpftrace.js';
import { uprobeScopeChoice, warnSharedUprobes } from '../../run/uprobe-scope.js';
import { resolveCommand } from '../../run/target.js';
import { TraceSession } from '../../run/trace-session.js';
import { formatBytes } from '../../report/units.js';
import { pageSize } from '../../sample/linux-proc.js';
import { ElfError, readElf } from '../../symbols/elf.js';
import { findGcProbePoint, V8_GC_FUNCTION, type GcProbePoint } from '../../symbols/v8-gc-symbol.js';
import { reduceGc } from './reduce.js';
import { describeSessionLoss } from '../common/session-loss.js';
import { GC_REPORTS, type GcFormat } from '../../report/gc-index.js';
import { writeFamilyReports, type ReportRequestOf } from '../common/write-reports.js';
import { startTracing, type ToolIo, type TracingOptions } from '../common/tracing.js';
import { endTrace, sessionTarget, tracingLine } from '../common/traced-session.js';

/** The options every tracing tool takes (TracingOptions), and gc's own. */
export interface GcOptions extends TracingOptions {
  reports: Array<ReportRequestOf<GcFormat>>;
  /** One line on stderr per collection as it happens (default: when stderr is a terminal). */
  live: boolean;
}

/** Runs the gc tool; returns memtrace's exit code (the launched command's, when there is one). */
export async function runGc(options: GcOptions, io: ToolIo): Promise<number> {
  const bpftrace = await startTracing('gc', options, io);

  const binary = await targetBinary(options.target);
  const point = await probePointOf(binary, options.target.kind === 'launch');
  if (point.kind === 'usdt' && options.target.kind === 'launch') {
    throw new TargetError(
      `${binary} has Node's gc__start/gc__done USDT probes but not V8's ${V8_GC_FUNCTION} symbol, and bpftrace 0.17 attaches USDT probes ` +
        'only to a process already running the binary: start it, then run memtrace gc -p PID',
    );
  }
  const spec = buildGcSpec({
    binary,
    pid: options.target.kind === 'attach' ? options.target.pid : null,
    probe: point.kind === 'symbol' ? { kind: 'symbol', symbol: point.symbol } : { kind: 'usdt' },
    durationMs: options.durationMs,
    pageSize: pageSize(),
  });
  const choices = [uprobeScopeChoice(bpftrace, basename(binary))];
  if (options.printScript) {
    io.stdout.write(tracerComment(bpftrace, choices) + renderGcBpf(spec));
    return 0;
  }
  warnSharedUprobes(io.stderr, { bpftrace, files: [binary], target: options.target, calls: "V8's garbage collections" });
  return traceAndReport(options, io, spec, point, bpftrace, choices);
}

/** The node binary the target runs: /proc/PID/exe of a running process, the resolved command of a launched one. */
async function targetBinary(target: GcOptions['target']): Promise<string> {
  if (target.kind === 'launch') return realpath(await resolveCommand(target.command[0]!, process.env.PATH ?? ''));
  if (!(await processExists(target.pid))) throw new TargetError(`no process with PID ${target.pid}`);
  let exe: string;
  try {
    exe = await readlink(`/proc/${target.pid}/exe`);
  } catch (error) {
    throw new TargetError(`cannot read /proc/${target.pid}/exe (a kernel thread, or the process exited): ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (exe.endsWith(' (deleted)'))
    throw new TargetError(`PID ${target.pid} runs ${exe}: its binary was replaced or removed since it started, so it cannot be probed`);
  // A process in another mount namespace (a container) names its binary in its own root.
  const root = await readlink(`/proc/${target.pid}/root`).catch(() => '/');
  return root === '/' ? exe : `/proc/${target.pid}/root${exe}`;
}

async function probePointOf(binary: string, launched: boolean): Promise<GcProbePoint> {
  let point: GcProbePoint | null;
  try {
    point = await findGcProbePoint(await readElf(binary), { preferSymbol: launched });
  } catch (error) {
    if (error instanceof ElfError) {
      const script = (await isScript(binary)) ? `; for a script, launch its interpreter: memtrace gc -- node ${binary}` : '';
      throw new TargetError(`${error.message}: memtrace gc traces a node binary (is the target node?)${script}`, { cause: error });
    }
    throw error;
  }
  if (point === null) {
    throw new TargetError(
      `${binary} has neither V8's ${V8_GC_FUNCTION}(…) in its symbol table nor Node's node:gc__start/gc__done USDT probes: ` +
        'is it node? (node exports the function in its dynamic symbol table, for native addons, so even a stripped node has it; a V8 that renamed it would not)',
    );
  }
  return point;
}

async function isScript(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => null);
  if (handle === null) return false;
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head.toString('latin1') === '#!';
  } finally {
    await handle.close();
  }
}

async function traceAndReport(
  options: GcOptions,
  io: ToolIo,
  spec: GcSpec,
  point: GcProbePoint,
  bpftrace: Bpftrace,
  choices: string[],
): Promise<number> {
  // Lenient live: one odd line from bpftrace is counted in the report, it does not lose the trace.
  const parser = new GcLogParser({ file: 'bpftrace output', lenient: true });
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const startedAt = new Date();
  let pid: number | null = null;
  const header = (tracedPid: number | null): GcLogHeader => ({
    tool: 'gc',
    target: { pid: tracedPid, command: options.target.kind === 'launch' ? options.target.command : null },
    binary: spec.binary,
    probe: point.kind === 'symbol' ? { kind: 'symbol', symbol: point.symbol, demangled: point.demangled } : { kind: 'usdt' },
    host: hostname(),
    startedAt: startedAt.toISOString(),
    tracer: { name: 'bpftrace', version: bpftrace.version, choices },
  });
  const showLive = (collection: GcRawCollection) => {
    if (!options.live || parser.raw.beginNs === null) return;
    const kind = gcKindOf(spec.probe.kind, collection.collector);
    const at = ((collection.startNs - parser.raw.beginNs) / 1e9).toFixed(3);
    io.stderr.write(
      `memtrace: ${at} s ${kind}${collection.reason === null ? '' : ` (${reasonName(collection.reason)})`} ${(collection.pauseNs / 1e6).toFixed(2)} ms, RSS after ${formatBytes(collection.rssAfterBytes)}\n`,
    );
  };

  const session = new TraceSession({
    bpftrace,
    // A launched command's PID is known once the shim runs: the session renders the program then.
    program: (tracedPid: number) => tracerComment(bpftrace, choices) + renderGcBpf({ ...spec, pid: tracedPid }),
    unsafe: false,
    tracerEnv: {},
    target: sessionTarget(
      options.target,
      { path: spec.binary, env: process.env },
      options.reports.some((report) => report.path === null),
      io,
    ),
    durationMs: options.durationMs,
    onStarted: (tracedPid) => {
      pid = tracedPid;
      const how = point.kind === 'symbol' ? `uprobes on ${V8_GC_FUNCTION}` : "Node's gc__start/gc__done probes";
      io.stderr.write(tracingLine(`garbage collections of PID ${tracedPid} (${how})`, options.durationMs));
      raw?.write(`${JSON.stringify({ type: 'memtrace_header', data: header(tracedPid) })}\n`);
    },
    onLine: (line) => {
      raw?.write(`${line}\n`);
      for (const collection of parser.push(line)) showLive(collection);
    },
  });

  const end = await session.run();
  session.finish();
  const notes: string[] = [];
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `bpftrace: ${line}`));
  if (end.reason === 'target-exited' && options.target.kind === 'attach')
    notes.push(`PID ${pid} exited during the trace: its collections until then`);
  const log: GcLog = reduceGc(parser.finish(), {
    header: header(pid),
    partialReason: describeSessionLoss(end, false, ': the collections until then'),
    notes,
  });

  return endTrace({
    io,
    end,
    raw,
    records: [{ type: 'memtrace_trailer', data: { partialReason: log.partialReason, durationSeconds: log.durationSeconds, notes } }],
    writeReports: () => writeFamilyReports(GC_REPORTS, log, options.reports, {}, io),
    partialReason: log.partialReason,
  });
}
