// The faults tool: which stacks make a process's RSS grow. User-space page faults, brk growth and
// mmap lengths, aggregated in the kernel by user stack. Composes spec → program → session → parser
// → symbols → reduce → reports, as tools/malloc/malloc.ts does, with the same session and maps recording.
import { hostname } from 'node:os';
import { TargetError, UsageError } from '../../errors.js';
import { openOutputStream } from '../common/output-file.js';
import { buildFaultsSpec, type FaultsSpec } from '../../probes/faults-spec.js';
import { renderFaultsBpf } from '../../probes/render-faults-bpf.js';
import { FaultsLogParser } from '../../parse/faults-log.js';
import { processExists, tracerComment, type Bpftrace } from '../../run/bpftrace.js';
import { resolveCommand } from '../../run/target.js';
import { chooseStackUnwinder, stackModeOf, type StackUnwinder, type UnwinderChoice } from '../../run/stack-unwinder.js';
import { readElf } from '../../symbols/elf.js';
import { MappingHistory } from '../../symbols/proc-maps.js';
import type { FaultsValueName } from '../../model/faults-profile.js';
import { resolveFaultsNames } from './names.js';
import type { StackFormat } from '../../report/stack-index.js';
import { FAULTS_REPORTS } from '../../report/faults-index.js';
import { findAllocatorForLaunch } from '../common/allocator.js';
import { faultsFrameAddresses, reduceFaults, type FrameName } from './reduce.js';
import { describeSessionLoss } from '../common/session-loss.js';
import { TracedSpan } from '../common/traced-span.js';
import { writeFamilyReports } from '../common/write-reports.js';
import { TargetWatch } from '../common/target-watch.js';
import { loaderGateFor } from '../common/loader-gate.js';
import { targetRunsNode } from '../common/node-target-kind.js';
import { startTracing, type ToolIo, type TracingOptions } from '../common/tracing.js';
import { endTrace, runWatchedTrace, sessionTarget } from '../common/traced-session.js';

/** The options every tracing tool takes (TracingOptions), and faults's own. */
export interface FaultsOptions extends TracingOptions {
  reports: Array<{ path: string | null; format: StackFormat }>;
  stackDepth: number;
  /** --stacks: how user stacks are unwound; null lets memtrace choose (src/run/stack-unwinder.ts). */
  stacks: StackUnwinder | null;
  value: FaultsValueName;
  top: number;
  mapEntries: number;
}

/** Runs the faults tool; returns memtrace's exit code (the launched command's, when there is one). */
export async function runFaults(options: FaultsOptions, io: ToolIo): Promise<number> {
  if (!options.printScript && process.arch !== 'x64') {
    // The program reads x86-64's saved user registers (ip, bp, sp) and error-code bits.
    throw new UsageError(`faults traces x86-64 processes only; this machine is ${process.arch}`);
  }
  const bpftrace = await startTracing('faults', options, io);

  let launchPath: string | null = null;
  let holdAtExit: FaultsSpec['holdAtExit'] = null;
  if (options.target.kind === 'launch') {
    launchPath = await resolveCommand(options.target.command[0]!, process.env.PATH ?? '');
    // A launched command stops itself in the C library's exit(), so that its maps can be read
    // before it is gone: a short command may end before the first poll of its maps.
    const libc = await findAllocatorForLaunch('glibc');
    if ((await readElf(libc)).findFunction('exit') !== undefined) holdAtExit = { library: libc, symbol: 'exit' };
  } else if (!(await processExists(options.target.pid))) {
    throw new TargetError(`no process with PID ${options.target.pid}`);
  }
  const unwinder = chooseStackUnwinder(options.stacks, bpftrace, { node: await targetRunsNode(options.target) });
  const spec = buildFaultsSpec({
    pid: options.target.kind === 'attach' ? options.target.pid : null,
    stackDepth: options.stackDepth,
    stackMode: stackModeOf(unwinder.unwinder),
    durationMs: options.durationMs,
    holdAtExit,
    declareSmallMaps: bpftrace.features.mapDeclarations,
  });
  if (options.printScript) {
    io.stdout.write(tracerComment(bpftrace, [unwinder.choice]) + renderFaultsBpf(spec));
    return 0;
  }
  return traceAndReport(options, io, spec, bpftrace, launchPath, unwinder);
}

async function traceAndReport(
  options: FaultsOptions,
  io: ToolIo,
  spec: FaultsSpec,
  bpftrace: Bpftrace,
  launchPath: string | null,
  unwinder: UnwinderChoice,
): Promise<number> {
  const notes: string[] = [];
  const history = new MappingHistory();
  const parser = new FaultsLogParser({ source: 'bpftrace', dwarfStacks: unwinder.unwinder === 'dwarf' });
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const startedAt = new Date();
  const span = new TracedSpan(startedAt);
  const watch = new TargetWatch({ history, launched: options.target.kind === 'launch', notes });
  const command = options.target.kind === 'launch' ? options.target.command : null;

  const { end, pid } = await runWatchedTrace({
    session: {
      bpftrace,
      program: (tracedPid: number) => tracerComment(bpftrace, [unwinder.choice]) + renderFaultsBpf({ ...spec, pid: tracedPid }),
      unsafe: spec.holdAtExit !== null,
      tracerEnv: { BPFTRACE_MAP_KEYS_MAX: String(options.mapEntries), BPFTRACE_PERF_RB_PAGES: '64' },
      target: sessionTarget(
        options.target,
        { path: launchPath!, env: process.env },
        options.reports.some((report) => report.path === null),
        io,
      ),
      durationMs: options.durationMs,
      ...(unwinder.unwinder === 'dwarf' && launchPath !== null ? { loaderGate: await loaderGateFor(launchPath) } : {}),
    },
    target: options.target,
    watch,
    span,
    io,
    raw,
    announce: (tracedPid) => `page faults, brk and mmap of PID ${tracedPid}`,
    header: (tracedPid) => ({
      tool: 'faults',
      target: { pid: tracedPid, command },
      host: hostname(),
      startedAt: startedAt.toISOString(),
      tracer: { name: 'bpftrace', version: bpftrace.version, choices: [unwinder.choice], stacks: unwinder.unwinder },
      pageSize: spec.pageSize,
      stackDepth: spec.stackDepth,
    }),
    onLine: (line, held) => {
      for (const event of parser.push(line)) if (event.kind === 'hold') held(event.pid);
    },
  });

  const { raw: rawResult, truncated } = parser.finish();
  const names = await resolveFaultsNames(history, faultsFrameAddresses(rawResult));
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `bpftrace: ${line}`));
  const profile = reduceFaults(rawResult, {
    target: { pid, command },
    tracer: { name: 'bpftrace', version: bpftrace.version, choices: [unwinder.choice], stacks: unwinder.unwinder },
    stackDepth: spec.stackDepth,
    startedAt: startedAt.toISOString(),
    durationSeconds: span.seconds(),
    partialReason: describeSessionLoss(end, truncated),
    pageSize: spec.pageSize,
    names,
    notes,
  });

  return endTrace({
    io,
    end,
    raw,
    records: [
      { type: 'memtrace_maps', data: history.toJSON() },
      { type: 'memtrace_symbols', data: { leaves: namesRecord(names.leaves), callers: namesRecord(names.callers) } },
      { type: 'memtrace_trailer', data: { partialReason: profile.partialReason, durationSeconds: profile.durationSeconds, notes } },
    ],
    writeReports: () => writeFamilyReports(FAULTS_REPORTS, profile, options.reports, { value: options.value, top: options.top }, io),
    partialReason: profile.partialReason,
  });
}

function namesRecord(names: ReadonlyMap<bigint, FrameName>): Record<string, FrameName> {
  return Object.fromEntries([...names].map(([address, name]) => [address.toString(16), name]));
}
