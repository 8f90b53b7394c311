// `memtrace process`: samples a process's RSS and virtual size (and, for a Node program it launched
// or whose inspector it may open, V8's heap figures) at a fixed interval, streams the JSON lines log, serves Prometheus, takes marks
// from `memtrace mark` and SIGUSR2, and renders the series at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputError, TargetError, UsageError } from '../../errors.js';
import {
  heapCoverageNote,
  SeriesBuilder,
  type HeapCoverage,
  type ProcessLogRecord,
  type Series,
  type SeriesHeader,
  type StopReason,
} from '../../model/series.js';
import { attachInspector, describeInspectorEnd, describeInspectorOpened, type AttachedInspector } from '../../node/inspector-attach.js';
import { isNodeCommand, nodeOptionsWithPreload, preloadPath } from '../../node/node-target.js';
import { renderPrometheus } from '../../report/prometheus.js';
import { formatBytes, formatDuration } from '../../report/units.js';
import { processExists } from '../../run/bpftrace.js';
import { exitCodeOf, launchCommand, type PlainTarget } from '../../run/launch.js';
import type { Target, TargetExit } from '../../run/target.js';
import { closeChannel, listenChannel, markSocketPath, type ChannelHandlers } from '../../sample/mark-channel.js';
import { memorySource, type MemorySource } from '../../sample/memory-source.js';
import { pageSize, processName } from '../../sample/linux-proc.js';
import { descriptorLogSink, streamLogSink, type LogSink } from '../../sample/process-log-writer.js';
import { describeOutputCause, openOutputFileSync } from '../common/output-file.js';
import { targetRunsNode } from '../common/node-target-kind.js';
import { servePrometheus, type ListenAddress } from '../../sample/prometheus-server.js';
import { HeapReports } from '../../sample/heap-reports.js';
import { Sampler } from '../../sample/sampler.js';
import { writeSeriesReports, type SeriesReportRequest } from './write-reports.js';

export interface ProcessOptions {
  target: Target;
  intervalMs: number;
  durationMs: number | null;
  children: boolean;
  /** The live JSON lines log: a path, '-' for stdout, or null for none. */
  log: string | null;
  reports: SeriesReportRequest[];
  prometheus: ListenAddress | null;
  /**
   * 'auto': heap figures when the launched command is Node; 'on': required (an error before the
   * start if the command is not Node, and at the end if too few samples carry them: see
   * checkHeapRequired); 'off'.
   */
  heap: 'auto' | 'on' | 'off';
  /** -p PID only: take the heap figures through the process's inspector, opened (SIGUSR1) for the trace. */
  attachInspector: boolean;
  /** Live status line on stderr, every this many ms; null: only when stderr is a terminal (1 s). */
  statusMs: number | null;
}

export interface ProcessIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export async function runProcess(options: ProcessOptions, io: ProcessIo): Promise<number> {
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    return await sampleProcess(options, io, cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

async function sampleProcess(options: ProcessOptions, io: ProcessIo, cleanups: Array<() => Promise<void> | void>): Promise<number> {
  let heapReports: HeapReports | null = null;
  let sampler: Sampler | null = null;
  const handlers: ChannelHandlers = {
    mark: (text) => sampler?.mark(text, 'cli') ?? null,
    heap: (pid, values, via) => heapReports?.heap(pid, values, via),
    preload: (pid, via, why) => heapReports?.preload(pid, via, why),
  };

  // A Ctrl-C while the target is being set up (memtrace may be waiting seconds for an attached
  // program's inspector) ends the run as soon as sampling starts, through the same path as a later
  // one: an inspector memtrace opened is closed again, and the log says 'signal'.
  let earlySignal: NodeJS.Signals | null = null;
  const onEarlySignal = (signal: NodeJS.Signals) => void (earlySignal ??= signal);
  const removeEarlyHandlers = () => void process.off('SIGINT', onEarlySignal).off('SIGTERM', onEarlySignal).off('SIGHUP', onEarlySignal);
  process.on('SIGINT', onEarlySignal).on('SIGTERM', onEarlySignal).on('SIGHUP', onEarlySignal);
  cleanups.push(removeEarlyHandlers);

  // Everything that can fail on the user's input fails before the target is launched.
  let prometheus: HttpServer | null = null;
  let renderMetrics: () => string = () => '';
  if (options.prometheus !== null) {
    prometheus = await servePrometheus(options.prometheus, () => renderMetrics());
    cleanups.push(() => new Promise<void>((resolve) => prometheus!.close(() => resolve())));
  }

  let target: PlainTarget | null = null;
  let pid: number;
  let command: string[] | undefined;
  let heapExpected = false;
  let inspector: AttachedInspector | null = null;
  if (options.target.kind === 'launch') {
    command = options.target.command;
    const { node } = await isNodeCommand(command[0]!, process.env.PATH ?? '');
    if (options.heap === 'on' && !node) {
      throw new UsageError(`--heap needs a Node.js program, and ${command[0]} is not one (its heap figures come from inside Node)`);
    }
    const env = { ...process.env };
    heapExpected = node && options.heap !== 'off';
    if (heapExpected) {
      // The preload's socket is private to this run: only the launched program reports heap figures.
      const directory = mkdtempSync(join(tmpdir(), 'memtrace-process-'));
      cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
      const socket = join(directory, 'heap.sock');
      const server = await listenChannel(socket, handlers);
      cleanups.push(() => closeChannel(server, socket));
      env.MEMTRACE_PROCESS_SOCKET = socket;
      env.MEMTRACE_PROCESS_INTERVAL_MS = String(options.intervalMs);
      // The launched program is memtrace's child: the preload starts its heap worker there only.
      env.MEMTRACE_PROCESS_PARENT = String(process.pid);
      env.NODE_OPTIONS = nodeOptionsWithPreload(process.env.NODE_OPTIONS, preloadPath('process'));
    }
    target = await launchCommand({
      command,
      env,
      stdout: options.log === '-' || options.reports.some((report) => report.path === null) ? 'stderr' : 'inherit',
    });
    pid = target.pid;
    // Created once the PID is known, before the program can report: its children report too, under their own PIDs.
    if (heapExpected) heapReports = new HeapReports(pid, options.intervalMs);
  } else {
    pid = options.target.pid;
    if (options.heap === 'on' && !options.attachInspector) {
      throw new UsageError(
        "--heap on -p PID needs --attach-inspector (memtrace then opens the program's inspector for the trace: see docs/tools/process.md)",
      );
    }
    if (!(await processExists(pid))) throw new TargetError(`no process with PID ${pid}`);
    if (options.attachInspector) {
      const reports = new HeapReports(pid, options.intervalMs, 'attached');
      heapReports = reports;
      inspector = await attachInspector({
        pid,
        intervalMs: options.intervalMs,
        onHeap: (values) => reports.heap(pid, values, 'inspector'),
      });
      const opened = inspector;
      cleanups.push(async () => void (await opened.stop()));
      io.stderr.write(describeInspectorOpened(inspector, pid, 'this trace'));
    } else if (options.heap !== 'off' && (await targetRunsNode(options.target))) {
      io.stderr.write(
        `memtrace: PID ${pid} runs Node.js: --attach-inspector adds V8's heap figures (memtrace opens the program's inspector for the trace: see docs/tools/process.md)\n`,
      );
    }
  }

  let source: MemorySource;
  try {
    source = memorySource(pid);
  } catch (error) {
    throw new TargetError(`cannot read the memory of PID ${pid}: ${error instanceof Error ? error.message : String(error)}`);
  }

  let markServer: Server | null = null;
  const markPath = markSocketPath(pid);
  try {
    markServer = await listenChannel(markPath, handlers);
    cleanups.push(() => closeChannel(markServer!, markPath));
  } catch (error) {
    io.stderr.write(`memtrace: marks from outside are off: ${error instanceof Error ? error.message : String(error)}\n`);
  }

  const header: SeriesHeader = {
    tool: 'process',
    version: 1,
    source: 'memtrace',
    target: command === undefined ? { pid } : { pid, command },
    interval: options.intervalMs / 1000,
    host: hostname(),
    platform: process.platform,
    start: new Date().toISOString(),
    pageSize: process.platform === 'linux' ? pageSize() : undefined,
    children: options.children,
  };
  if (heapReports !== null) header.heap = true;
  const builder = new SeriesBuilder();
  let logFailure: OutputError | null = null;
  const log: LogSink | null =
    options.log === null
      ? null
      : options.log === '-'
        ? streamLogSink(io.stdout)
        : descriptorLogSink(openOutputFileSync(options.log), (error) => {
            logFailure = new OutputError(
              `could not write ${options.log}: ${describeOutputCause(error)}; the log keeps the samples written until then, readable by memtrace report`,
              { path: options.log!, cause: error },
            );
            io.stderr.write(`memtrace: ${logFailure.message}; sampling goes on for the reports\n`);
          });
  if (log !== null) cleanups.push(() => log.close());
  const sink = (record: ProcessLogRecord): void => {
    builder.add(record);
    log?.write(record);
  };
  const reports = heapReports;
  sampler = new Sampler({
    header,
    source,
    sink,
    ...(reports === null ? {} : { heap: () => reports.read(), heapCoverage: () => reports.summary() }),
  });
  const name = processName(pid) ?? command?.[0] ?? String(pid);
  renderMetrics = () =>
    renderPrometheus({
      pid,
      name,
      latest: sampler!.latest,
      up: !stopped,
      samples: sampler!.samples,
      missed: sampler!.missed,
      marks: sampler!.marks,
    });

  let stopped = false;
  const ended = new Promise<{ reason: StopReason; exit?: TargetExit }>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      // The command shares the terminal and got the same Ctrl-C; one signalled alone is told too.
      target?.signal(signal);
      resolve({ reason: 'signal' });
    };
    const onMark = () => sampler?.mark('SIGUSR2', 'signal');
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal).on('SIGHUP', onSignal).on('SIGUSR2', onMark);
    removeEarlyHandlers();
    if (earlySignal !== null) onSignal(earlySignal);
    cleanups.push(() => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('SIGHUP', onSignal).off('SIGUSR2', onMark);
    });
    if (options.durationMs !== null) {
      const timer = setTimeout(() => resolve({ reason: 'duration' }), options.durationMs);
      cleanups.push(() => clearTimeout(timer));
    }
    if (target !== null) void target.exited.then((exit) => resolve({ reason: 'target-exited', exit }));
    void sampler!.gone.then(() => resolve({ reason: 'target-exited' }));
  });

  sampler.start();
  const status = startStatusLine(options, io, sampler);
  cleanups.push(status.stop);

  const end = await ended;
  stopped = true;
  let exit = end.exit;
  if (end.reason === 'target-exited' && exit === undefined && target !== null) exit = await target.exited;
  const stop = await sampler.stop(end.reason, exit === undefined ? {} : { exitCode: exit.code, exitSignal: exit.signal });
  status.stop();
  if (inspector !== null) io.stderr.write(describeInspectorEnd(await inspector.stop(), pid) ?? '');
  log?.close();

  const series: Series = builder.build();
  io.stderr.write(
    `memtrace: sampled PID ${pid} for ${formatDuration(stop.elapsed)}: ${stop.samples} samples, ${stop.missed} missed, ${sampler.marks} marks; ${
      stop.reason === 'target-exited' ? 'the process exited' : stop.reason === 'signal' ? 'interrupted' : 'duration reached'
    }\n`,
  );
  // The one or two samples taken while Node starts are in the log and the reports; stderr speaks up
  // only when figures went missing later, or never came.
  const heapNote = heapCoverageNote(series);
  if (heapNote !== null && stop.heap !== undefined && (stop.heap.late > 0 || stop.heap.samples === 0))
    io.stderr.write(`memtrace: ${heapNote}\n`);
  await writeSeriesReports(series, options.reports, io);
  if (logFailure !== null) throw logFailure;
  if (options.heap === 'on' && stop.heap !== undefined) checkHeapRequired(stop.heap, exit);

  if (target !== null) {
    // Interrupted or timed out: the command was told (signal) or runs on (duration) — memtrace waits
    // for it only in the first case, so its exit code can be passed on.
    if (end.reason === 'duration') return 0;
    return exitCodeOf(exit ?? (await target.exited));
  }
  return 0;
}

/**
 * `--heap` keeps its word: heap figures are required. Checked at the end, once the log and the
 * reports are written (they say what there is): memtrace fails if the program never reported, or
 * if more than one sample in ten after its first report lacks figures. The samples taken while Node
 * starts, before it loads the preload, do not count: every run has one or two.
 */
function checkHeapRequired(coverage: HeapCoverage, exit: TargetExit | undefined): void {
  const after = coverage.samples + coverage.late;
  const exited =
    exit === undefined || (exit.code === 0 && exit.signal === null)
      ? ''
      : ` (the command itself ${exit.signal === null ? `exited with code ${exit.code}` : `died of ${exit.signal}`})`;
  if (coverage.samples === 0) {
    throw new TargetError(
      `--heap: no sample has heap figures: ${coverage.why ?? 'the program never answered (a native call or a garbage collection that lasted the whole run?)'}${exited}`,
    );
  }
  if (coverage.late * 10 > after) {
    throw new TargetError(
      `--heap: ${coverage.late} of ${after} samples after the program's first report lack heap figures (at most one in ten may): ${coverage.why ?? ''}${exited}`,
    );
  }
}

function startStatusLine(options: ProcessOptions, io: ProcessIo, sampler: Sampler): { stop: () => void } {
  const everyMs = options.statusMs ?? (io.stderr.isTTY ? 1000 : null);
  if (everyMs === null) return { stop: () => {} };
  const terminal = io.stderr.isTTY === true;
  const timer = setInterval(() => {
    const latest = sampler.latest;
    if (latest === null) return;
    const heap = typeof latest.heapUsed === 'number' ? `  heap ${formatBytes(latest.heapUsed)}` : '';
    const tree =
      typeof latest.totalRss === 'number' ? `  tree ${formatBytes(latest.totalRss)} (${latest.children?.length ?? 0} children)` : '';
    const line = `[memtrace process] ${formatDuration(latest.elapsed)}  RSS ${formatBytes(latest.rss)}${heap}${tree}  samples ${sampler.samples}  missed ${sampler.missed}  marks ${sampler.marks}`;
    io.stderr.write(terminal ? `\r\u001b[2K${line}` : `${line}\n`);
  }, everyMs);
  timer.unref();
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (terminal) io.stderr.write('\r\u001b[2K');
    },
  };
}
