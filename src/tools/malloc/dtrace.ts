// The malloc tool on DTrace (memtrace-dtrace malloc): spec → D program → dtrace session → parser →
// the same reducer and reports as the bpftrace tool. On macOS DTrace names the frames itself (it
// reads the target's symbols while the target lives, and macOS has no /proc for memtrace to read).
// On Linux (DTrace for Linux) DTrace names a frame only if the target still lives when the frame is
// printed, so memtrace names them itself, as the bpftrace tool does: the program prints addresses
// (noresolve), memtrace reads the target's maps while it lives (dtrace-target-maps.ts), and the
// symbolizer names the frames after the trace; the raw log keeps the maps and names.
import { hostname } from 'node:os';
import { TargetError, UsageError, type OutputError } from '../../errors.js';
import { openOutputStream } from '../common/output-file.js';
import { buildMallocSpec } from '../../probes/malloc-spec.js';
import { DARWIN_MALLOC_MODULE, DEFAULT_MALLOC_D_OPTIONS, renderMallocD } from '../../probes/render-malloc-d.js';
import { MallocDtraceParser } from '../../parse/malloc-dtrace.js';
import {
  DtraceSession,
  dtraceCommandString,
  findDtrace,
  processAlive,
  requireDtracePrivileges,
  type DtraceSessionEnd,
} from '../../run/dtrace.js';
import { chooseDtraceFreeProbe } from './dtrace-free-probe.js';
import { darwinMallocSpecOptions } from './d-script.js';
import { describeMallocDtraceNotes, framePlacer } from './dtrace-report-input.js';
import { frameAddresses, reduceMalloc } from '../common/allocation-reduce.js';
import { DtraceTargetMaps } from './dtrace-target-maps.js';
import { resolvedName, type ResolvedName } from '../common/frame-names.js';
import { Symbolizer } from '../../symbols/symbolizer.js';
import type { ToolIo } from '../common/tracing.js';
import type { MallocOptions } from './options.js';
import { writeFamilyReports } from '../common/write-reports.js';
import { MALLOC_REPORTS } from '../../report/index.js';

/** The bpftrace-only options, refused with the reason rather than silently ignored. */
function refuseBpftraceOnlyOptions(options: MallocOptions): void {
  const refused: Array<[boolean, string]> = [
    [options.eventsOut !== null, '--events (the per-call log)'],
    [options.statusIntervalMs !== null, '--interval'],
    [options.timelineIntervalMs !== null, '--timeline'],
    [options.mmap, '--mmap'],
    [options.allocator !== null, '--allocator (use --lib MODULE)'],
    [options.prefix !== '', '--prefix'],
    [options.sharedLibc, '--shared-libc'],
  ];
  const named = refused.filter(([given]) => given).map(([, name]) => name);
  if (named.length > 0) throw new UsageError(`${named.join(', ')}: not available with DTrace (memtrace-bpf only)`);
}

export async function runMallocDtrace(options: MallocOptions, io: ToolIo): Promise<number> {
  refuseBpftraceOnlyOptions(options);
  if (options.target.kind === 'launch') dtraceCommandString(options.target.command);
  const library = options.lib ?? DARWIN_MALLOC_MODULE;
  const freeProbe = await chooseDtraceFreeProbe(library, options.target);
  const choices = freeProbe.choice === null ? [] : [freeProbe.choice];
  const spec = buildMallocSpec({
    ...darwinMallocSpecOptions(),
    library,
    free: freeProbe.free,
    pid: options.target.kind === 'attach' ? options.target.pid : null,
    stackMode: 'ustack',
    stackDepth: options.stackDepth,
    minSize: options.minSize,
    maxSize: options.maxSize,
    sampleEvery: options.sampleEvery,
    durationMs: options.durationMs,
  });
  // Linux has /proc, and DTrace for Linux the noresolve option: memtrace names the frames there.
  const namesFrames = process.platform === 'linux';
  const program = renderMallocD(spec, { ...DEFAULT_MALLOC_D_OPTIONS, frames: namesFrames ? 'addresses' : 'dtrace' });
  if (options.printScript) {
    io.stdout.write(program);
    return 0;
  }
  requireDtracePrivileges('malloc');
  const dtrace = await findDtrace({ path: options.tracerPath ?? undefined });
  if (options.target.kind === 'attach' && !processAlive(options.target.pid))
    throw new TargetError(`no process with PID ${options.target.pid}`);

  // The header of the raw log and of the report: a log rendered later shows the same choices.
  const tracer = { name: 'dtrace', version: dtrace.version, ...(choices.length > 0 ? { choices } : {}) };
  const parser = new MallocDtraceParser({ source: 'dtrace' });
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const startedAt = new Date();
  const target =
    options.target.kind === 'attach' ? { pid: options.target.pid, command: null } : { pid: null, command: options.target.command };
  const functions = spec.functions.map((fn) => fn.name);
  raw?.write(
    `${JSON.stringify({ type: 'memtrace_header', data: { tool: 'malloc', target, host: hostname(), startedAt: startedAt.toISOString(), tracer, allocator: { library: spec.library, functions }, sampleEvery: options.sampleEvery } })}\n`,
  );

  const maps = namesFrames ? new DtraceTargetMaps() : null;
  if (maps !== null && options.target.kind === 'attach') await maps.attach(options.target.pid);
  const session = new DtraceSession({
    dtrace,
    program,
    target: options.target,
    durationMs: options.durationMs,
    startMarker: 'memtrace:begin',
    onSpawned: (tracerPid) => {
      if (options.target.kind === 'launch') maps?.launching(tracerPid);
    },
    onStarted: () => {
      const what = options.target.kind === 'attach' ? `PID ${options.target.pid}` : options.target.command.join(' ');
      io.stderr.write(
        `memtrace: tracing ${functions.join(', ')} in ${what} with DTrace${options.durationMs === null ? '' : ` for ${options.durationMs / 1000} s`}; Ctrl-C to stop\n`,
      );
    },
    onLine: (line) => {
      raw?.write(`${line}\n`);
      parser.push(line);
      if (maps !== null && parser.targetPid !== null) maps.traced(parser.targetPid);
    },
    onStderrLine: (line) => {
      // Kept in the raw log too, so that a later report counts the same drops.
      if (line.startsWith('dtrace: ')) raw?.write(`${line}\n`);
      parser.pushNotice(line);
    },
  });
  let end: DtraceSessionEnd;
  try {
    end = await session.run();
  } finally {
    maps?.stop();
  }
  await maps?.read();
  const { raw: rawResult, truncated } = parser.finish(maps === null ? undefined : framePlacer(maps.history));
  const notes = describeMallocDtraceNotes(parser);
  if (end.cutLine !== null)
    notes.push(`dtrace's output ended in the middle of a line, so that record is lost: ${JSON.stringify(end.cutLine.slice(0, 60))}`);
  const names = maps === null ? new Map<bigint, ResolvedName>() : await nameFrames(maps, frameAddresses(rawResult), notes);
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `dtrace: ${line.replace(/^dtrace: /, '')}`));
  const profile = reduceMalloc(rawResult, {
    // A launched command's PID, once the program has said it (frames: 'addresses').
    target: { ...target, pid: target.pid ?? parser.targetPid },
    tracer,
    allocator: { library: spec.library, functions },
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 10) / 100,
    partialReason: partialReason(end, truncated),
    sampleEvery: options.sampleEvery,
    names,
    notes,
  });
  let rawFailure: OutputError | null = null;
  if (raw !== null) {
    if (maps !== null) {
      raw.write(`${JSON.stringify({ type: 'memtrace_maps', data: maps.history.toJSON() })}\n`);
      raw.write(
        `${JSON.stringify({ type: 'memtrace_symbols', data: Object.fromEntries([...names].map(([address, name]) => [address.toString(16), name])) })}\n`,
      );
    }
    raw.write(
      `${JSON.stringify({ type: 'memtrace_trailer', data: { partialReason: profile.partialReason, durationSeconds: profile.durationSeconds, notes } })}\n`,
    );
    rawFailure = await raw.close();
  }
  await writeFamilyReports(MALLOC_REPORTS, profile, options.reports, { value: options.value, top: options.top }, io);
  // The reports are out; a raw log the disk cut short is still an error the user must see.
  if (rawFailure !== null) throw rawFailure;
  // dtrace -c does not pass on the command's exit status: memtrace's is its own.
  return profile.partial && end.reason === 'tracer-died' ? 4 : 0;
}

/** Names for the frame addresses, from the maps read while the target lived (return addresses: looked up at address - 1). */
async function nameFrames(maps: DtraceTargetMaps, addresses: bigint[], notes: string[]): Promise<Map<bigint, ResolvedName>> {
  if (addresses.length === 0) return new Map();
  if (maps.history.snapshotCount === 0) {
    notes.push(
      `memtrace could not read the maps of ${maps.tracedPid === null ? 'the traced process' : `PID ${maps.tracedPid}`} while it lived: its frames stay addresses`,
    );
    return new Map();
  }
  const resolved = await new Symbolizer(maps.history).resolve(addresses, { returnAddresses: true });
  return new Map([...resolved].map(([address, frame]) => [address, resolvedName(address, frame)]));
}

function partialReason(end: DtraceSessionEnd, truncated: boolean): string | null {
  if (end.reason === 'signal') return `interrupted by ${end.signal}`;
  if (end.reason === 'tracer-died') {
    const how = end.tracerExit.signal !== null ? `was killed by ${end.tracerExit.signal}` : `exited with code ${end.tracerExit.code}`;
    return `dtrace ${how}${end.tracerErrors[0] ? `: ${end.tracerErrors[0]}` : ''}`;
  }
  if (truncated || end.cutLine !== null) return 'the tracer output ended in the middle of a record';
  return null;
}
