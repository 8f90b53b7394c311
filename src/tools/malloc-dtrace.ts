// The malloc tool on DTrace (memtrace-dtrace malloc): spec → D program → dtrace session → parser →
// the same reducer and reports as the bpftrace tool. DTrace names the frames itself (it reads the
// target's symbols while the target lives), so there is no symbolization step here.
import { hostname } from 'node:os';
import { TargetError, UsageError, type OutputError } from '../errors.js';
import { openOutputStream } from './output-file.js';
import { buildMallocSpec } from '../probes/malloc-spec.js';
import { DARWIN_MALLOC_MODULE, renderMallocD } from '../probes/render-malloc-d.js';
import { MallocDtraceParser } from '../parse/malloc-dtrace.js';
import { DtraceSession, dtraceCommandString, findDtrace, processAlive, requireDtracePrivileges, type DtraceSessionEnd } from '../run/dtrace.js';
import { darwinMallocSpecOptions } from './malloc-d-script.js';
import { describeMallocDtraceNotes } from './malloc-dtrace-report.js';
import { reduceMalloc } from './malloc-reduce.js';
import type { MallocOptions, ToolIo } from './malloc.js';
import { writeReports } from './write-reports.js';

/** The bpftrace-only options, refused with the reason rather than silently ignored. */
function refuseBpftraceOnlyOptions(options: MallocOptions): void {
  const refused: Array<[boolean, string]> = [
    [options.eventsOut !== null, '--events (the per-call log)'],
    [options.statusIntervalMs !== null, '--interval'],
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
  const spec = buildMallocSpec({
    ...darwinMallocSpecOptions(),
    library: options.lib ?? DARWIN_MALLOC_MODULE,
    pid: options.target.kind === 'attach' ? options.target.pid : null,
    stackMode: 'ustack',
    stackDepth: options.stackDepth,
    minSize: options.minSize,
    maxSize: options.maxSize,
    sampleEvery: options.sampleEvery,
    durationMs: options.durationMs,
  });
  const program = renderMallocD(spec);
  if (options.printScript) {
    io.stdout.write(program);
    return 0;
  }
  requireDtracePrivileges('malloc');
  const dtrace = await findDtrace({ path: options.tracerPath ?? undefined });
  if (options.target.kind === 'attach' && !processAlive(options.target.pid)) throw new TargetError(`no process with PID ${options.target.pid}`);

  const parser = new MallocDtraceParser({ source: 'dtrace' });
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const startedAt = new Date();
  const target = options.target.kind === 'attach' ? { pid: options.target.pid, command: null } : { pid: null, command: options.target.command };
  const functions = spec.functions.map((fn) => fn.name);
  raw?.write(
    `${JSON.stringify({ type: 'memtrace_header', data: { tool: 'malloc', target, host: hostname(), startedAt: startedAt.toISOString(), tracer: { name: 'dtrace', version: dtrace.version }, allocator: { library: spec.library, functions }, sampleEvery: options.sampleEvery } })}\n`,
  );

  const session = new DtraceSession({
    dtrace,
    program,
    target: options.target,
    durationMs: options.durationMs,
    startMarker: 'memtrace:begin',
    onStarted: () => {
      const what = options.target.kind === 'attach' ? `PID ${options.target.pid}` : options.target.command.join(' ');
      io.stderr.write(`memtrace: tracing ${functions.join(', ')} in ${what} with DTrace${options.durationMs === null ? '' : ` for ${options.durationMs / 1000} s`}; Ctrl-C to stop\n`);
    },
    onLine: (line) => {
      raw?.write(`${line}\n`);
      parser.push(line);
    },
    onStderrLine: (line) => {
      // Kept in the raw log too, so that a later report counts the same drops.
      if (line.startsWith('dtrace: ')) raw?.write(`${line}\n`);
      parser.pushNotice(line);
    },
  });
  const end = await session.run();
  const { raw: rawResult, truncated } = parser.finish();
  const notes = describeMallocDtraceNotes(parser);
  if (end.tracerErrors.length > 0) notes.push(...end.tracerErrors.slice(0, 5).map((line) => `dtrace: ${line.replace(/^dtrace: /, '')}`));
  const profile = reduceMalloc(rawResult, {
    target,
    tracer: { name: 'dtrace', version: dtrace.version },
    allocator: { library: spec.library, functions },
    startedAt: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 10) / 100,
    partialReason: partialReason(end, truncated),
    sampleEvery: options.sampleEvery,
    names: new Map(),
    notes,
  });
  let rawFailure: OutputError | null = null;
  if (raw !== null) {
    raw.write(`${JSON.stringify({ type: 'memtrace_trailer', data: { partialReason: profile.partialReason, durationSeconds: profile.durationSeconds, notes } })}\n`);
    rawFailure = await raw.close();
  }
  await writeReports(profile, options.reports, io, { value: options.value, top: options.top });
  // The reports are out; a raw log the disk cut short is still an error the user must see.
  if (rawFailure !== null) throw rawFailure;
  // dtrace -c does not pass on the command's exit status: memtrace's is its own.
  return profile.partial && end.reason === 'tracer-died' ? 4 : 0;
}

function partialReason(end: DtraceSessionEnd, truncated: boolean): string | null {
  if (end.reason === 'signal') return `interrupted by ${end.signal}`;
  if (end.reason === 'tracer-died') {
    const how = end.tracerExit.signal !== null ? `was killed by ${end.tracerExit.signal}` : `exited with code ${end.tracerExit.code}`;
    return `dtrace ${how}${end.tracerErrors[0] ? `: ${end.tracerErrors[0]}` : ''}`;
  }
  if (truncated) return 'the tracer output ended in the middle of a record';
  return null;
}
