// The malloc tool: every allocator call of one process, aggregated in the kernel by stack, with
// the blocks still outstanding at the end. Composes spec → program → session → parser → symbols →
// reduce → reports; the pieces live in probes/, run/, parse/, symbols/ and report/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TargetError } from '../errors.js';
import { ALLOCATOR_FUNCTIONS, MMAP_FUNCTIONS, buildMallocSpec, type FreeProbe } from '../probes/malloc-spec.js';
import { renderMallocBpf } from '../probes/render-malloc-bpf.js';
import { ensureTracefs, findBpftrace, processExists, requireRoot, type Bpftrace } from '../run/bpftrace.js';
import { resolveCommand } from '../run/target.js';
import { requireNodeCommand } from '../node/node-target.js';
import { readElf } from '../symbols/elf.js';
import { findFreeBody, writeAliasedCopy } from '../symbols/elf-alias.js';
import { readProcMaps } from '../symbols/proc-maps.js';
import type { MallocValueName } from '../model/malloc-profile.js';
import { findAllocatorForLaunch, findAllocatorInMaps, type AllocatorName } from './allocator.js';
import { runMallocDtrace } from './malloc-dtrace.js';
import { traceAllocations, type ToolIo } from './allocation-trace.js';
import { nodeOptionsWithPerfMap } from './js-frames.js';
import type { ReportRequest } from './write-reports.js';

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
  /** Ask a launched Node command for a perf map (JS function names in the stacks). */
  js: boolean;
}

export type { ToolIo };
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
    if (options.js) await requireNodeCommand('malloc --js', options.target.command, process.env.PATH ?? '');
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

    return await traceAllocations({
      options: { ...options, tool: 'malloc' },
      io,
      bpftrace: bpftrace as Bpftrace,
      program: (tracedPid: number) => renderMallocBpf({ ...spec, pid: tracedPid }),
      holdsAtExit: spec.holdAtExitSymbol !== null,
      functions: spec.functions.map((fn) => fn.name),
      library,
      probedLibrary,
      launchPath,
      launchEnv: options.js ? { ...process.env, NODE_OPTIONS: nodeOptionsWithPerfMap(process.env.NODE_OPTIONS) } : process.env,
      commandLibraryPath,
      perfMapRequested: options.js && options.target.kind === 'launch',
      notes,
    });
  } finally {
    await rm(workDirectory, { recursive: true, force: true });
  }
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
