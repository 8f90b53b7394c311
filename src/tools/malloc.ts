// The malloc tool: every allocator call of one process, aggregated in the kernel by stack, with
// the blocks still outstanding at the end. Composes spec → program → session → parser → symbols →
// reduce → reports; the pieces live in probes/, run/, parse/, symbols/ and report/.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TargetError } from '../errors.js';
import { ALLOCATOR_FUNCTIONS, MMAP_FUNCTIONS, buildMallocSpec, type FreeProbe, type MallocSpec } from '../probes/malloc-spec.js';
import { renderMallocBpf } from '../probes/render-malloc-bpf.js';
import { MallocLogParser, type MallocStatus } from '../parse/malloc-log.js';
import { ensureTracefs, findBpftrace, processExists, requireRoot, type Bpftrace } from '../run/bpftrace.js';
import { exitCodeOf } from '../run/launch.js';
import { processState, resolveCommand } from '../run/target.js';
import { TraceSession, type SessionEnd } from '../run/trace-session.js';
import { readElf } from '../symbols/elf.js';
import { findFreeBody, writeAliasedCopy } from '../symbols/elf-alias.js';
import { MappingHistory, readProcMaps } from '../symbols/proc-maps.js';
import { Symbolizer } from '../symbols/symbolizer.js';
import type { MallocValueName } from '../model/malloc-profile.js';
import { findAllocatorForLaunch, findAllocatorInMaps, type AllocatorName } from './allocator.js';
import { runMallocDtrace } from './malloc-dtrace.js';
import { frameAddresses, reduceMalloc, type ResolvedName } from './malloc-reduce.js';
import { writeReports, type ReportRequest } from './write-reports.js';

export interface MallocOptions {
  /** bpftrace on Linux; DTrace (tools/malloc-dtrace.ts) on macOS. */
  backend: 'bpf' | 'dtrace';
  target: { kind: 'attach'; pid: number } | { kind: 'launch'; command: string[] };
  reports: ReportRequest[];
  allocator: AllocatorName | null;
  lib: string | null;
  prefix: string;
  mmap: boolean;
  durationMs: number | null;
  minSize: number | null;
  maxSize: number | null;
  sampleEvery: number;
  stackDepth: number;
  statusIntervalMs: number | null;
  rawOut: string | null;
  eventsOut: string | null;
  printScript: boolean;
  /** Probe the system's libc even for a launched command (no private copy). */
  sharedLibc: boolean;
  tracerPath: string | null;
  value: MallocValueName;
  top: number;
  /** Live-address and stack map capacity (BPFTRACE_MAP_KEYS_MAX). */
  mapEntries: number;
}

export interface ToolIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const MAPS_POLL_MS = 250;
const PRIVATE_FREE_BODY = 'memtrace_free_body';
const PRIVATE_FREE_NULL = 'memtrace_free_null';

/** Runs the malloc tool; returns memtrace's exit code (the launched command's, when there is one). */
export async function runMalloc(options: MallocOptions, io: ToolIo): Promise<number> {
  if (options.backend === 'dtrace') return runMallocDtrace(options, io);
  const notes: string[] = [];
  const say = (message: string) => io.stderr.write(`${message}\n`);
  if (!options.printScript) requireRoot('malloc');
  const bpftrace = options.printScript ? { path: options.tracerPath ?? 'bpftrace', version: null } : await findBpftrace({ path: options.tracerPath ?? undefined });
  if (!options.printScript) await ensureTracefs(say);

  let launchPath: string | null = null;
  if (options.target.kind === 'launch') {
    launchPath = await resolveCommand(options.target.command[0]!, process.env.PATH ?? '');
  } else if (!(await processExists(options.target.pid))) {
    throw new TargetError(`no process with PID ${options.target.pid}`);
  }

  const library = options.lib ?? (options.target.kind === 'attach'
    ? await findAllocatorInMaps(await readProcMaps(options.target.pid), options.allocator, options.target.pid)
    : await findAllocatorForLaunch(options.allocator));
  const elf = await readElf(library);
  // Looked up by name: glibc's calloc is a weak alias of __libc_calloc, and the function table keeps one name an address.
  const symbolAddresses = new Map<string, bigint>();
  for (const { name } of [...ALLOCATOR_FUNCTIONS, ...MMAP_FUNCTIONS, { name: 'exit' }]) {
    const symbol = `${name === 'exit' ? '' : options.prefix}${name}`;
    const found = elf.findFunction(symbol);
    if (found !== undefined) symbolAddresses.set(symbol, found.address);
  }

  // A launched command gets a private copy of glibc: uprobes belong to a file, so probes on the copy
  // trap only in processes that map the copy, not in every process on the machine; and the copy
  // carries symbols that put free's probe on an instruction the kernel emulates (see elf-alias.ts).
  const workDirectory = await mkdtemp(join(tmpdir(), 'memtrace-lib-'));
  try {
    let probedLibrary = library;
    let free: FreeProbe = { mode: 'entry' };
    let commandLibraryPath: string | undefined;
    const usePrivateCopy = options.target.kind === 'launch' && !options.sharedLibc && options.lib === null && /\/libc\.so\.6$/.test(library);
    if (usePrivateCopy) {
      const body = await findFreeBody(elf, `${options.prefix}free`);
      const freeSymbol = elf.findFunction(`${options.prefix}free`);
      const aliases = [];
      if (body !== null && freeSymbol !== undefined) {
        aliases.push({ name: PRIVATE_FREE_BODY, address: freeSymbol.address + BigInt(body.bodyOffset), size: maxBig(1n, freeSymbol.size - BigInt(body.bodyOffset)) });
        if (body.nullReturnOffset !== null) aliases.push({ name: PRIVATE_FREE_NULL, address: freeSymbol.address + BigInt(body.nullReturnOffset), size: 1n });
        free = { mode: 'body', bodySymbol: PRIVATE_FREE_BODY, nullSymbol: body.nullReturnOffset === null ? null : PRIVATE_FREE_NULL };
      } else {
        notes.push(`free is probed at its entry: its first instructions in ${library} are not the recognised NULL test`);
      }
      const copyDirectory = join(workDirectory, 'lib');
      probedLibrary = join(copyDirectory, basename(library));
      await mkdir(copyDirectory, { mode: 0o755 });
      await writeAliasedCopy(library, probedLibrary, aliases);
      commandLibraryPath = [copyDirectory, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
      if (free.mode === 'body' && free.nullSymbol === null) notes.push('free(NULL) is not counted: the NULL test of free does not end in a plain return');
    } else if (options.target.kind === 'launch') {
      notes.push('free is probed at its entry on the shared library: every process using it pays a trap per free while memtrace runs');
    }

    const spec = buildMallocSpec({
      library: probedLibrary,
      pid: options.target.kind === 'attach' ? options.target.pid : 4_194_304, // replaced below once the PID is known
      prefix: options.prefix,
      mmap: options.mmap,
      symbolAddresses,
      free,
      stackMode: 'frames',
      stackDepth: options.stackDepth,
      minSize: options.minSize,
      maxSize: options.maxSize,
      sampleEvery: options.sampleEvery,
      events: options.eventsOut !== null,
      statusIntervalMs: options.statusIntervalMs,
      durationMs: options.durationMs,
      holdAtExitSymbol: options.target.kind === 'launch' && symbolAddresses.has('exit') ? 'exit' : null,
    });

    if (options.printScript) {
      io.stdout.write(renderMallocBpf(options.target.kind === 'launch' ? { ...spec, pid: null } : spec));
      return 0;
    }

    return await traceAndReport({ options, io, spec, bpftrace: bpftrace as Bpftrace, library, probedLibrary, launchPath, commandLibraryPath, notes });
  } finally {
    await rm(workDirectory, { recursive: true, force: true });
  }
}

interface TraceContext {
  options: MallocOptions;
  io: ToolIo;
  spec: MallocSpec;
  bpftrace: Bpftrace;
  library: string;
  probedLibrary: string;
  launchPath: string | null;
  commandLibraryPath: string | undefined;
  notes: string[];
}

async function traceAndReport(context: TraceContext): Promise<number> {
  const { options, io, bpftrace, notes } = context;
  const history = new MappingHistory();
  const parser = new MallocLogParser({ source: 'bpftrace' });
  const raw = options.rawOut === null ? null : createWriteStream(options.rawOut, { flags: 'w', mode: 0o644 });
  const events = options.eventsOut === null ? null : createWriteStream(options.eventsOut, { flags: 'w', mode: 0o644 });
  const startedAt = new Date();
  const status = new StatusLine(io.stderr);
  let pid: number | null = null;
  let session: TraceSession | null = null;
  let pollTimer: NodeJS.Timeout | null = null;
  const readMaps = async () => {
    if (pid === null) return;
    try {
      history.add(await readProcMaps(pid));
    } catch {
      // The process is gone or exiting: what was read before stands.
    }
  };

  // A launched command stops itself in exit() and says so in the program's output; should that line
  // never arrive (it once failed to, under a million calls), a command found stopped on two polls in
  // a row is treated as held: its maps are read and it is continued, and the report says so.
  let stoppedPolls = 0;
  let holdsSeen = 0;
  const poll = async () => {
    await readMaps();
    if (pid === null || options.target.kind !== 'launch' || session === null) return;
    const state = await processState(pid);
    stoppedPolls = state === 'T' || state === 't' ? stoppedPolls + 1 : 0;
    if (stoppedPolls >= 2) {
      stoppedPolls = 0;
      if (holdsSeen === 0) notes.push(`PID ${pid} was found stopped without memtrace's exit-hold marker; memtrace continued it`);
      session.releaseHeld(pid);
    }
  };

  events?.write('# memtrace malloc per-call log: A function tid ns address size | F tid ns address\n');
  const targetDescription = options.target.kind === 'attach' ? { pid: options.target.pid, command: null } : { pid: null, command: options.target.command };

  session = new TraceSession({
    bpftrace,
    // The launched PID is known only once the shim runs: the session renders the program then.
    program: (tracedPid: number) => renderMallocBpf({ ...context.spec, pid: tracedPid }),
    unsafe: context.spec.holdAtExitSymbol !== null,
    tracerEnv: { BPFTRACE_MAP_KEYS_MAX: String(options.mapEntries), BPFTRACE_PERF_RB_PAGES: options.eventsOut === null ? '64' : '4096' },
    target:
      options.target.kind === 'attach'
        ? { kind: 'attach', pid: options.target.pid }
        : {
            kind: 'launch',
            command: [context.launchPath!, ...options.target.command.slice(1)],
            env: process.env,
            commandLibraryPath: context.commandLibraryPath,
            stdout: options.reports.some((report) => report.path === null) && !io.stdout.isTTY ? 'stderr' : 'inherit',
            terminal: Boolean(process.stdin.isTTY && (io.stdout.isTTY || io.stderr.isTTY)),
          },
    durationMs: options.durationMs,
    onStarted: (tracedPid) => {
      pid = tracedPid;
      io.stderr.write(`memtrace: tracing ${context.spec.functions.map((fn) => fn.name).join(', ')} in PID ${tracedPid}${options.durationMs === null ? '' : ` for ${options.durationMs / 1000} s`}; Ctrl-C to stop\n`);
      void readMaps();
      pollTimer = setInterval(() => void poll(), MAPS_POLL_MS);
      raw?.write(`${JSON.stringify({ type: 'memtrace_header', data: header(options, bpftrace, context, tracedPid, startedAt) })}\n`);
    },
    onLine: (line) => {
      raw?.write(`${line}\n`);
      for (const event of parser.push(line)) {
        switch (event.kind) {
          case 'hold':
            // The target stopped itself in exit(): read its maps while they exist, then let it exit.
            holdsSeen += 1;
            session!.noteHeld(event.pid);
            void readMaps().then(() => session!.releaseHeld(event.pid));
            break;
          case 'status':
            status.update(event.status, parser.raw.lostEvents);
            break;
          case 'call':
            events?.write(`${event.line}\n`);
            break;
          default:
            break;
        }
      }
    },
  });

  let end: SessionEnd;
  try {
    end = await session.run();
  } finally {
    if (pollTimer !== null) clearInterval(pollTimer);
    status.clear();
  }
  await readMaps();
  session.finish();

  const { raw: rawResult, truncated } = parser.finish();
  const copyPath = context.probedLibrary;
  const symbolizer = new Symbolizer(history, { displayPath: (path: string) => (path === copyPath ? context.library : path) });
  const resolved = await symbolizer.resolve(frameAddresses(rawResult), { returnAddresses: true });
  const names = new Map<bigint, ResolvedName>([...resolved].map(([address, frame]) => [address, { name: frame.name, module: frame.module }]));

  if (pid !== null && context.probedLibrary !== context.library && !history.all().some((mapping) => mapping.path === copyPath)) {
    notes.push(`the command did not load memtrace's private copy of ${context.library} (setuid, statically linked or DT_RPATH): its allocations were not seen; re-run with --shared-libc`);
  }
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `bpftrace: ${line}`));

  const profile = reduceMalloc(rawResult, {
    target: { pid, command: targetDescription.command },
    tracer: { name: 'bpftrace', version: bpftrace.version },
    allocator: { library: context.library, functions: context.spec.functions.map((fn) => fn.name) },
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 10) / 100,
    partialReason: partialReason(end, truncated),
    sampleEvery: options.sampleEvery,
    names,
    notes,
  });

  if (raw !== null) {
    raw.write(`${JSON.stringify({ type: 'memtrace_maps', data: history.toJSON() })}\n`);
    raw.write(`${JSON.stringify({ type: 'memtrace_symbols', data: Object.fromEntries([...names].map(([address, name]) => [address.toString(16), name])) })}\n`);
    raw.write(`${JSON.stringify({ type: 'memtrace_trailer', data: { partialReason: profile.partialReason, durationSeconds: profile.durationSeconds, notes } })}\n`);
    await closeStream(raw);
  }
  if (events !== null) await closeStream(events);

  await writeReports(profile, options.reports, io, { value: options.value, top: options.top });

  if (end.targetExit !== null) {
    const exit = await end.targetExit;
    return exitCodeOf(exit);
  }
  return profile.partial && end.reason === 'tracer-died' ? 4 : 0;
}

function header(options: MallocOptions, bpftrace: Bpftrace, context: TraceContext, pid: number, startedAt: Date): Record<string, unknown> {
  return {
    tool: 'malloc',
    target: options.target.kind === 'attach' ? { pid, command: null } : { pid, command: options.target.command },
    host: hostname(),
    startedAt: startedAt.toISOString(),
    tracer: { name: 'bpftrace', version: bpftrace.version },
    allocator: { library: context.library, probedLibrary: context.probedLibrary, functions: context.spec.functions.map((fn) => fn.name) },
    sampleEvery: options.sampleEvery,
  };
}

function partialReason(end: SessionEnd, truncated: boolean): string | null {
  if (end.reason === 'signal') return `interrupted by ${end.signal}`;
  if (end.reason === 'tracer-died') {
    const how = end.tracerExit.signal !== null ? `was killed by ${end.tracerExit.signal}` : `exited with code ${end.tracerExit.code}`;
    return `bpftrace ${how}${end.tracerErrors[0] ? `: ${end.tracerErrors[0]}` : ''}`;
  }
  if (truncated) return 'the tracer output ended in the middle of a record';
  return null;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
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
