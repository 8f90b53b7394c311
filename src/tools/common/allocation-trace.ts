// The tracing half shared by the tools whose programs speak the malloc program's output (malloc,
// external): one TraceSession against the target, the parser fed live, the target's memory maps
// read while it lives (and while it holds itself in exit()), then symbols — ELF, and the perf map
// for JS frames — the MallocProfile reduction, the raw log's memtrace records and the reports.
import { hostname } from 'node:os';
import { MallocLogParser, type MallocStatus } from '../../parse/malloc-log.js';
import { tracerComment, type Bpftrace } from '../../run/bpftrace.js';
import type { StackUnwinder } from '../../run/stack-unwinder.js';
import type { TraceSessionOptions } from '../../run/trace-session.js';
import { locatePerfMap } from '../../symbols/perf-map.js';
import { MappingHistory } from '../../symbols/proc-maps.js';
import { Symbolizer } from '../../symbols/symbolizer.js';
import type { MallocProfile, MallocValueName } from '../../model/malloc-profile.js';
import { loadJsSymbols, removePerfMap } from './js-frames.js';
import { TargetWatch } from './target-watch.js';
import { frameAddresses, reduceMalloc } from './allocation-reduce.js';
import { resolvedName, type ResolvedName } from './frame-names.js';
import { openOutputStream } from './output-file.js';
import { describeSessionLoss } from './session-loss.js';
import { endTrace, runWatchedTrace, sessionTarget } from './traced-session.js';
import type { ToolIo } from './tracing.js';
import { TracedSpan } from './traced-span.js';
import { writeFamilyReports, type ReportRequest } from './write-reports.js';
import { MALLOC_REPORTS } from '../../report/index.js';
import type { Target } from '../../run/target.js';

export interface AllocationTraceOptions {
  tool: MallocProfile['tool'];
  target: Target;
  reports: ReportRequest[];
  durationMs: number | null;
  rawOut: string | null;
  eventsOut: string | null;
  sampleEvery: number;
  /** Frames per stack: a stack that long was cut by the limit, not by the walk. */
  stackDepth: number;
  value: MallocValueName;
  top: number;
  mapEntries: number;
}

export interface AllocationTraceContext {
  options: AllocationTraceOptions;
  io: ToolIo;
  bpftrace: Bpftrace;
  /** The program for the traced PID (a launched command's PID is known only once it is held). */
  program: (pid: number) => string;
  /** The program stops the target in exit() (needs bpftrace --unsafe). */
  holdsAtExit: boolean;
  /** Probed functions, for the status message, the header and the profile. */
  functions: string[];
  /** The library the probes sit in, as reports show it. */
  library: string;
  /** The file actually probed: a private copy of `library`, or `library` itself. */
  probedLibrary: string;
  launchPath: string | null;
  /** Environment of a launched command (NODE_OPTIONS with the perf-map flags under --js). */
  launchEnv: NodeJS.ProcessEnv;
  commandLibraryPath: string | undefined;
  /** memtrace asked the launched command for a perf map: it reads it, then removes it. */
  perfMapRequested: boolean;
  notes: string[];
  /** What memtrace chose for this bpftrace (see tracerComment): in the report header and the raw log. */
  choices: string[];
  /** How the program unwinds user stacks: in the json's and the raw log's tracer record. */
  unwinder: StackUnwinder;
  /** A launched command's loader gate (DWARF traces: see tools/common/loader-gate.ts). */
  loaderGate?: TraceSessionOptions['loaderGate'];
}

export async function traceAllocations(context: AllocationTraceContext): Promise<number> {
  const { options, io, bpftrace, notes } = context;
  const history = new MappingHistory();
  const parser = new MallocLogParser({ source: 'bpftrace', dwarfStacks: context.unwinder === 'dwarf' });
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const events = options.eventsOut === null ? null : openOutputStream(options.eventsOut);
  const startedAt = new Date();
  const span = new TracedSpan(startedAt);
  const status = new StatusLine(io.stderr);
  /** The wall clock of the timeline's first point: one interval before its first snapshot was read. */
  let timelineStartedAt: string | null = null;
  let perfMapPath: string | null = null;
  // Located while the process lives: a container's map is reachable only through /proc/PID/root.
  const watch = new TargetWatch({
    history,
    launched: options.target.kind === 'launch',
    notes,
    alsoRead: async (pid: number) => void (perfMapPath ??= await locatePerfMap(pid)),
  });

  events?.write(`# memtrace ${options.tool} per-call log: A function tid ns address size | F tid ns address\n`);
  const targetDescription =
    options.target.kind === 'attach' ? { pid: options.target.pid, command: null } : { pid: null, command: options.target.command };

  const { end, pid } = await runWatchedTrace({
    session: {
      bpftrace,
      program: (tracedPid: number) => tracerComment(bpftrace, context.choices) + context.program(tracedPid),
      unsafe: context.holdsAtExit,
      tracerEnv: { BPFTRACE_MAP_KEYS_MAX: String(options.mapEntries), BPFTRACE_PERF_RB_PAGES: options.eventsOut === null ? '64' : '4096' },
      target: sessionTarget(
        options.target,
        {
          path: context.launchPath!,
          env: context.launchEnv,
          ...(context.commandLibraryPath === undefined ? {} : { commandLibraryPath: context.commandLibraryPath }),
        },
        options.reports.some((report) => report.path === null),
        io,
      ),
      durationMs: options.durationMs,
      ...(context.loaderGate === undefined ? {} : { loaderGate: context.loaderGate }),
    },
    target: options.target,
    watch,
    span,
    io,
    raw,
    announce: (tracedPid) => `${context.functions.join(', ')} in PID ${tracedPid}`,
    header: (tracedPid) => header(context, tracedPid, startedAt),
    onLine: (line, held) => {
      for (const event of parser.push(line)) {
        switch (event.kind) {
          case 'hold':
            held(event.pid);
            break;
          case 'status':
            status.update(event.status, parser.raw.lostEvents);
            break;
          case 'timeline-start':
            timelineStartedAt = new Date(Date.now() - event.intervalMs).toISOString();
            break;
          case 'call':
            events?.write(`${event.line}\n`);
            break;
          default:
            break;
        }
      }
    },
    onEnded: () => status.clear(),
  });

  const { raw: rawResult, truncated } = parser.finish();
  const copyPath = context.probedLibrary;
  const js = pid === null ? null : await loadJsSymbols(pid, history, { located: perfMapPath, launchedWithFlags: context.perfMapRequested });
  if (js !== null) notes.push(...js.notes);
  if (context.perfMapRequested) await removePerfMap(js?.path ?? null);
  const symbolizer = new Symbolizer(history, {
    displayPath: (path: string) => (path === copyPath ? context.library : path),
    perfMap: js?.perfMap ?? null,
  });
  const resolved = await symbolizer.resolve(frameAddresses(rawResult), { returnAddresses: true });
  const names = new Map<bigint, ResolvedName>([...resolved].map(([address, frame]) => [address, resolvedName(address, frame)]));
  if (js?.perfMap && symbolizer.problems.jitAddressesUnnamed > 0) {
    notes.push(
      `${symbolizer.problems.jitAddressesUnnamed} frames in JIT code are not in the perf map (code compiled before the map was enabled, or not a JS function)`,
    );
  }

  if (pid !== null && context.probedLibrary !== context.library && !history.all().some((mapping) => mapping.path === copyPath)) {
    notes.push(
      `the command did not load memtrace's private copy of ${context.library} (setuid, statically linked or DT_RPATH): its allocations were not seen; re-run with --shared-libc`,
    );
  }
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `bpftrace: ${line}`));

  const profile = reduceMalloc(rawResult, {
    tool: options.tool,
    target: { pid, command: targetDescription.command },
    tracer: { name: 'bpftrace', version: bpftrace.version, choices: context.choices, stacks: context.unwinder },
    allocator: { library: context.library, functions: context.functions },
    startedAt: startedAt.toISOString(),
    durationSeconds: span.seconds(),
    partialReason: describeSessionLoss(end, truncated),
    timelineStartedAt,
    sampleEvery: options.sampleEvery,
    stackDepth: options.stackDepth,
    names,
    notes,
  });

  return endTrace({
    io,
    end,
    raw,
    records: [
      { type: 'memtrace_maps', data: history.toJSON() },
      { type: 'memtrace_symbols', data: Object.fromEntries([...names].map(([address, name]) => [address.toString(16), name])) },
      {
        type: 'memtrace_trailer',
        data: { partialReason: profile.partialReason, durationSeconds: profile.durationSeconds, notes, timelineStartedAt },
      },
    ],
    logs: events === null ? [] : [events],
    writeReports: () => writeFamilyReports(MALLOC_REPORTS, profile, options.reports, { value: options.value, top: options.top }, io),
    partialReason: profile.partialReason,
  });
}

function header(context: AllocationTraceContext, pid: number, startedAt: Date): Record<string, unknown> {
  const { options } = context;
  return {
    tool: options.tool,
    target: options.target.kind === 'attach' ? { pid, command: null } : { pid, command: options.target.command },
    host: hostname(),
    startedAt: startedAt.toISOString(),
    tracer: { name: 'bpftrace', version: context.bpftrace.version, choices: context.choices, stacks: context.unwinder },
    allocator: { library: context.library, probedLibrary: context.probedLibrary, functions: context.functions },
    sampleEvery: options.sampleEvery,
    stackDepth: options.stackDepth,
  };
}

/** The live status line on stderr: calls per second, outstanding bytes, lost events. */
class StatusLine {
  private last: { at: number; calls: number } | null = null;
  private shown = false;
  constructor(private readonly stream: ToolIo['stderr']) {}

  update(status: MallocStatus, lostEvents: number): void {
    const now = Date.now();
    const calls = status.okAllocs + status.frees;
    const rate = this.last === null ? 0 : ((calls - this.last.calls) * 1000) / Math.max(1, now - this.last.at);
    this.last = { at: now, calls };
    const outstanding = status.liveBytes - status.liveFreedBytes;
    const text = `memtrace: ${Math.round(rate).toLocaleString('en-US')} calls/s, ${calls.toLocaleString('en-US')} calls, ${outstanding.toLocaleString('en-US')} B outstanding, ${lostEvents} lost events`;
    if (this.stream.isTTY) {
      this.stream.write(`\r\u001b[K${text}`);
      this.shown = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\u001b[K');
  }
}
