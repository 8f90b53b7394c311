// The external tool: the memory behind ArrayBuffers, Buffers and typed arrays of a Node process,
// allocated through Node's ArrayBuffer allocator, by JS stack; what was allocated, what was freed,
// what is still held at the end. Heap snapshots do not show it and process.memoryUsage() shows
// only its sum ("external"). Composes spec → program → session → parser → symbols (ELF and the
// perf map) → reduce → reports, through allocation-trace.ts exactly as malloc does; the profile is
// malloc's contract, with `tool: "external"`.
import { basename } from 'node:path';
import { readlink, realpath, stat } from 'node:fs/promises';
import { TargetError } from '../../errors.js';
import { isNodeBinaryName, requireNodeCommand } from '../../node/node-target.js';
import { buildExternalSpec, EXTERNAL_FUNCTIONS, type ExternalFunctionName, type ExternalSpec } from '../../probes/external-spec.js';
import { renderExternalBpf } from '../../probes/render-external-bpf.js';
import { processExists, tracerComment } from '../../run/bpftrace.js';
import { uprobeScopeChoice, warnSharedUprobes } from '../../run/uprobe-scope.js';
import { resolveCommand } from '../../run/target.js';
import { findByDemangledName } from '../../symbols/demangled-lookup.js';
import { readElf } from '../../symbols/elf.js';
import type { MallocValueName } from '../../model/malloc-profile.js';
import { findAllocatorForLaunch } from '../common/allocator.js';
import { traceAllocations } from '../common/allocation-trace.js';
import { nodeOptionsWithPerfMap } from '../common/js-frames.js';
import type { ReportRequest } from '../common/write-reports.js';
import { loaderGateFor } from '../common/loader-gate.js';
import { chooseStackUnwinder, stackModeOf, type StackUnwinder } from '../../run/stack-unwinder.js';
import { startTracing, type ToolIo, type TracingOptions } from '../common/tracing.js';

/** The options every tracing tool takes (TracingOptions), and external's own. */
export interface ExternalOptions extends TracingOptions {
  reports: ReportRequest[];
  stackDepth: number;
  /** --stacks: how user stacks are unwound; null lets memtrace choose (src/run/stack-unwinder.ts). */
  stacks: StackUnwinder | null;
  value: MallocValueName;
  top: number;
  mapEntries: number;
  /** --timeline: every stack's outstanding bytes every so many milliseconds, and the growth ranking. */
  timelineIntervalMs: number | null;
}

/** Runs the external tool; returns memtrace's exit code (the launched command's, when there is one). */
export async function runExternal(options: ExternalOptions, io: ToolIo): Promise<number> {
  const notes: string[] = [];
  const bpftrace = await startTracing('external', options, io);

  let launchPath: string | null = null;
  let binary: string;
  if (options.target.kind === 'launch') {
    await requireNodeCommand('external', options.target.command, process.env.PATH ?? '');
    launchPath = await resolveCommand(options.target.command[0]!, process.env.PATH ?? '');
    binary = await nodeBinaryOf(launchPath);
  } else {
    if (!(await processExists(options.target.pid))) throw new TargetError(`no process with PID ${options.target.pid}`);
    binary = await executableOf(options.target.pid);
  }
  const symbols = await findAllocatorSymbols(binary, options.target);
  // external traces node only.
  const unwinder = chooseStackUnwinder(options.stacks, bpftrace, { node: true });

  const spec = buildExternalSpec({
    binary,
    pid: options.target.kind === 'attach' ? options.target.pid : 4_194_304, // replaced once the PID is known
    symbols,
    stackMode: stackModeOf(unwinder.unwinder),
    stackDepth: options.stackDepth,
    durationMs: options.durationMs,
    timelineIntervalMs: options.timelineIntervalMs,
    // A launched node stops itself in libc's exit() so that its maps are read before they are gone.
    holdAtExit: options.target.kind === 'launch' ? { library: await findAllocatorForLaunch('glibc'), symbol: 'exit' } : null,
    declareSmallMaps: bpftrace.features.mapDeclarations,
  });
  const choices = [unwinder.choice, uprobeScopeChoice(bpftrace, basename(binary))];
  if (options.printScript) {
    io.stdout.write(tracerComment(bpftrace, choices) + renderExternalBpf(options.target.kind === 'launch' ? { ...spec, pid: null } : spec));
    return 0;
  }
  warnSharedUprobes(io.stderr, { bpftrace, files: [binary], target: options.target, calls: "Node's ArrayBuffer allocations and frees" });
  return traceAllocations({
    options: { ...options, tool: 'external', eventsOut: null, sampleEvery: 1 },
    io,
    bpftrace,
    choices,
    unwinder: unwinder.unwinder,
    ...(unwinder.unwinder === 'dwarf' && launchPath !== null ? { loaderGate: await loaderGateFor(launchPath) } : {}),
    program: (pid: number): string => renderExternalBpf({ ...spec, pid } satisfies ExternalSpec),
    holdsAtExit: spec.holdAtExit !== null,
    functions: spec.functions.map((fn) => fn.name),
    library: binary,
    probedLibrary: binary,
    launchPath,
    // JS stacks are the point of this tool: a launched node always writes a perf map.
    launchEnv: { ...process.env, NODE_OPTIONS: nodeOptionsWithPerfMap(process.env.NODE_OPTIONS) },
    commandLibraryPath: undefined,
    perfMapRequested: options.target.kind === 'launch',
    notes,
  });
}

/** The mangled symbol of each probed function, found by demangled name; a clear error when one is missing. */
async function findAllocatorSymbols(binary: string, target: ExternalOptions['target']): Promise<Map<ExternalFunctionName, string>> {
  const what = target.kind === 'attach' ? `PID ${target.pid} runs ${binary}, which` : `${binary}`;
  const elf = await readElf(binary).catch((error: unknown) => {
    throw new TargetError(`${what} cannot be read as an ELF executable: ${error instanceof Error ? error.message : String(error)}`);
  });
  const { found, demanglerMissing } = await findByDemangledName(
    elf,
    EXTERNAL_FUNCTIONS.map((fn) => fn.demangled),
    ['ArrayBufferAllocator'],
  );
  const missing = EXTERNAL_FUNCTIONS.filter((fn) => !found.has(fn.demangled));
  if (missing.length === EXTERNAL_FUNCTIONS.length && !demanglerMissing && !isNodeBinaryName(binary)) {
    throw new TargetError(
      `${what} is not node (it has none of the symbols of Node's ArrayBuffer allocator): external traces Node processes only`,
    );
  }
  if (missing.length > 0) {
    const reason = demanglerMissing
      ? 'c++filt (binutils) is needed to read C++ symbol names: install binutils'
      : `external traces Node's ArrayBuffer allocator and needs a node executable with its C++ symbols (not stripped): check with nm -C ${binary} | grep ArrayBufferAllocator`;
    throw new TargetError(`${what} has no ${missing.map((fn) => fn.demangled).join(', no ')}: ${reason}`);
  }
  return new Map(EXTERNAL_FUNCTIONS.map((fn) => [fn.name, found.get(fn.demangled)!.symbol]));
}

/** The node executable a launched command runs: itself, or for a `#!… node` script the node on PATH. */
async function nodeBinaryOf(command: string): Promise<string> {
  const real = await realpath(command);
  if (isNodeBinaryName(real) || isNodeBinaryName(command)) return real;
  return realpath(await resolveCommand('node', process.env.PATH ?? ''));
}

/**
 * The executable of a running process, as a path uprobes can name: the link in /proc/PID/exe names
 * it in the process's own mount namespace, so a containerised node is reached through /proc/PID/root.
 */
async function executableOf(pid: number): Promise<string> {
  const path = await readlink(`/proc/${pid}/exe`).catch(() => null);
  if (path === null) throw new TargetError(`cannot read /proc/${pid}/exe: the process exited, or is a kernel thread`);
  const clean = path.replace(/ \(deleted\)$/, '');
  // The same path here may be another file (a container's /usr/bin/node is not the host's).
  const [running, here] = await Promise.all([stat(`/proc/${pid}/exe`).catch(() => null), stat(clean).catch(() => null)]);
  if (running !== null && here !== null && running.dev === here.dev && running.ino === here.ino) return clean;
  return `/proc/${pid}/root${clean}`;
}
