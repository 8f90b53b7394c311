// The malloc tool: every allocator call of one process, aggregated in the kernel by stack, with
// the blocks still outstanding at the end. Composes spec → program → session → parser → symbols →
// reduce → reports; the pieces live in probes/, run/, parse/, symbols/ and report/.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TargetError } from '../../errors.js';
import { ALLOCATOR_FUNCTIONS, MMAP_FUNCTIONS, buildMallocSpec, seesFreeNull, type FreeProbe } from '../../probes/malloc-spec.js';
import { renderMallocBpf } from '../../probes/render-malloc-bpf.js';
import { processExists, tracerComment } from '../../run/bpftrace.js';
import { uprobeScopeChoice, warnSharedUprobes } from '../../run/uprobe-scope.js';
import { resolveCommand } from '../../run/target.js';
import { chooseStackUnwinder, stackModeOf } from '../../run/stack-unwinder.js';
import { requireNodeCommand } from '../../node/node-target.js';
import { readElf } from '../../symbols/elf.js';
import { findFreeBody, writeAliasedCopy } from '../../symbols/elf-alias.js';
import { readProcMaps } from '../../symbols/proc-maps.js';
import { findAllocatorForLaunch, findAllocatorInMaps } from '../common/allocator.js';
import { runMallocDtrace } from './dtrace.js';
import type { MallocOptions } from './options.js';
import { traceAllocations } from '../common/allocation-trace.js';
import { startTracing, type ToolIo } from '../common/tracing.js';
import { nodeOptionsWithPerfMap } from '../common/js-frames.js';
import { loaderGateFor } from '../common/loader-gate.js';
import { targetRunsNode } from '../common/node-target-kind.js';

export type { MallocOptions, ToolIo };

const PRIVATE_FREE_BODY = 'memtrace_free_body';
const PRIVATE_FREE_NULL = 'memtrace_free_null';

/** Runs the malloc tool; returns memtrace's exit code (the launched command's, when there is one). */
export async function runMalloc(options: MallocOptions, io: ToolIo): Promise<number> {
  if (options.backend === 'dtrace') return runMallocDtrace(options, io);
  const notes: string[] = [];
  const bpftrace = await startTracing('malloc', options, io);

  let launchPath: string | null = null;
  if (options.target.kind === 'launch') {
    if (options.js) await requireNodeCommand('malloc --js', options.target.command, process.env.PATH ?? '');
    launchPath = await resolveCommand(options.target.command[0]!, process.env.PATH ?? '');
  } else if (!(await processExists(options.target.pid))) {
    throw new TargetError(`no process with PID ${options.target.pid}`);
  }

  const library =
    options.lib ??
    (options.target.kind === 'attach'
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

  // Where free is probed, and whether the probes need a private copy of the library, depends on what
  // the bpftrace can do (src/run/bpftrace-features.ts):
  // - per-PID uprobes: the probes trap only in the traced process, on the shared library itself;
  // - without them a launched command gets a private copy of glibc (uprobes belong to a file, so
  //   probes on the copy trap only in processes that map it), with symbols that put free's probe
  //   on an instruction the kernel emulates (see elf-alias.ts);
  // - offset uprobes put that probe on the shared library directly: `free+9`.
  const features = bpftrace.features;
  const unwinder = chooseStackUnwinder(options.stacks, bpftrace, { node: options.js || (await targetRunsNode(options.target)) });
  const choices: string[] = [unwinder.choice];
  const freeName = `${options.prefix}free`;
  const freeBody = await findFreeBody(elf, freeName);
  const workDirectory = await mkdtemp(join(tmpdir(), 'memtrace-lib-'));
  try {
    let probedLibrary = library;
    let free: FreeProbe = { mode: 'entry' };
    let commandLibraryPath: string | undefined;
    const launched = options.target.kind === 'launch';
    const usePrivateCopy =
      launched && !features.pidScopedUprobes && !options.sharedLibc && options.lib === null && /\/libc\.so\.6$/.test(library);
    if (usePrivateCopy) {
      const freeSymbol = elf.findFunction(freeName);
      const aliases = [];
      if (freeBody !== null && freeSymbol !== undefined) {
        aliases.push({
          name: PRIVATE_FREE_BODY,
          address: freeSymbol.address + BigInt(freeBody.bodyOffset),
          size: maxBig(1n, freeSymbol.size - BigInt(freeBody.bodyOffset)),
        });
        if (freeBody.nullReturnOffset !== null)
          aliases.push({ name: PRIVATE_FREE_NULL, address: freeSymbol.address + BigInt(freeBody.nullReturnOffset), size: 1n });
        free = { mode: 'body', bodySymbol: PRIVATE_FREE_BODY, nullSymbol: freeBody.nullReturnOffset === null ? null : PRIVATE_FREE_NULL };
        choices.push(
          `${freeName} probed past its NULL test through a symbol added to a private copy of ${basename(library)} (no offset uprobes needed)`,
        );
      } else {
        notes.push(`free is probed at its entry: its first instructions in ${library} are not the recognised NULL test`);
      }
      const copyDirectory = join(workDirectory, 'lib');
      probedLibrary = join(copyDirectory, basename(library));
      await mkdir(copyDirectory, { mode: 0o755 });
      await writeAliasedCopy(library, probedLibrary, aliases);
      commandLibraryPath = [copyDirectory, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
      choices.push(
        `the command runs on a private copy of ${basename(library)}: this bpftrace's uprobes trap in every process using a file, and no other process uses the copy`,
      );
    } else {
      if (freeBody !== null && features.offsetUprobes) {
        free = { mode: 'offset', bodyOffset: freeBody.bodyOffset, nullOffset: freeBody.nullReturnOffset };
        choices.push(
          `${freeName} probed at ${freeName}+${freeBody.bodyOffset}, past its NULL test (offset uprobe: the kernel emulates the instruction there)${freeBody.nullReturnOffset === null ? '' : `; free(NULL) at ${freeName}+${freeBody.nullReturnOffset}`}`,
        );
      } else {
        choices.push(
          `${freeName} probed at its entry (${features.offsetUprobes ? 'its first instructions are not the recognised NULL test' : 'this bpftrace has no offset uprobes'}): about 12 µs a call`,
        );
      }
      choices.push(uprobeScopeChoice(bpftrace, basename(library)));
      if (launched && !features.pidScopedUprobes)
        notes.push('free is probed on the shared library: every process using it pays a trap per free while memtrace runs');
    }
    // A DWARF trace of a launched command starts once its loader has mapped its libraries: the
    // exec has happened by then, so the program counts from its start, not from an exec it never sees.
    const gated = launched && unwinder.unwinder === 'dwarf';
    if (!seesFreeNull(free)) notes.push('free(NULL) is not counted: the NULL test of free does not end in a plain return');

    const spec = buildMallocSpec({
      library: probedLibrary,
      pid: options.target.kind === 'attach' ? options.target.pid : 4_194_304, // replaced below once the PID is known
      prefix: options.prefix,
      mmap: options.mmap,
      symbolAddresses,
      free,
      stackMode: stackModeOf(unwinder.unwinder),
      stackDepth: options.stackDepth,
      minSize: options.minSize,
      maxSize: options.maxSize,
      sampleEvery: options.sampleEvery,
      events: options.eventsOut !== null,
      statusIntervalMs: options.statusIntervalMs,
      timelineIntervalMs: options.timelineIntervalMs,
      durationMs: options.durationMs,
      holdAtExitSymbol: options.target.kind === 'launch' && symbolAddresses.has('exit') ? 'exit' : null,
      fromExec: launched && probedLibrary === library && !gated,
      declareSmallMaps: bpftrace.features.mapDeclarations,
    });

    if (options.printScript) {
      io.stdout.write(tracerComment(bpftrace, choices) + renderMallocBpf(options.target.kind === 'launch' ? { ...spec, pid: null } : spec));
      return 0;
    }
    if (probedLibrary === library) {
      const launchable = options.lib === null && /\/libc\.so\.6$/.test(library);
      warnSharedUprobes(io.stderr, {
        bpftrace,
        files: [library],
        target: options.target,
        calls: 'every malloc and free',
        otherRemedies: !launchable
          ? []
          : options.target.kind === 'attach'
            ? [
                'launch the program under memtrace instead of attaching to it ("memtrace malloc -- CMD" runs it on a private copy of libc that no other process uses)',
              ]
            : ['drop --shared-libc (a launched command then runs on a private copy of libc that no other process uses)'],
      });
    }

    return await traceAllocations({
      options: { ...options, tool: 'malloc' },
      io,
      bpftrace,
      choices,
      unwinder: unwinder.unwinder,
      ...(gated && launchPath !== null ? { loaderGate: await loaderGateFor(launchPath) } : {}),
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
