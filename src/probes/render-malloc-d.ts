// Renders a MallocSpec as a D program for DTrace's pid provider (macOS, from its documentation;
// DTrace for Linux 2.0.7, run in CI; illumos and FreeBSD untested). The twin of render-malloc-bpf.ts: the same spec, the same counts, the same
// markers, so that one parser shape and the same malloc reducer serve both tracers.
//
// What the program keeps:
//   in aggregations (exact, folded in the kernel, printed once by END with printa):
//     @calls[fn], @bytes[fn], @failed[fn], @free_null, @size_hist (quantize), @ok_allocs, @ok_bytes,
//     @frees, @live_allocs, @live_frees, @live_freed_bytes, and @stack_allocs/@stack_bytes keyed by
//     ustack(): allocations by stack
//   in a global associative array: live[address] = size + 1 for each (sampled) block still allocated
//   as tagged records streamed to user space while tracing:
//     A<TAB>ADDRESS<TAB>SIZE<TAB>NS followed by ustack()   a tracked block is born
//     F<TAB>ADDRESS                                         a tracked block is freed
//
// Why records for the outstanding blocks: D cannot keep a stack in a variable, so a block's stack
// can only leave the kernel with an event; and an aggregation cannot be decremented by a free that
// knows the address but not the stack. The live[] array filters in the kernel, so that only frees
// of blocks born during the trace cross to user space, and memtrace pairs A with F there (bounded
// by the blocks still live, as the model is). Records can be dropped when the buffer fills: DTrace
// then says "N drops on CPU M" and the report counts the blocks it could not follow; the
// aggregations stay exact whatever is dropped.
//
// D has no if/else: each condition is a clause of its own on the same probe, in order, and the
// last clause of a return probe clears the thread's in-flight state. Clause-local `this->`
// variables set by the first clause carry the call's values to the later clauses of the same firing.
//
// The thread-local variables are declared with their types: D types an undeclared variable by its
// first assignment, and `self->ptr = 0` in malloc's entry made ptr a 32-bit int, so that
// posix_memalign's return later read *out at a truncated address (DTrace for Linux 2.0.7: "invalid
// address (0xffffffffbe35a7f0)").
//
// Frames: DTrace names a ustack() frame when it prints it, from the target's symbols, and only while
// the target lives (after it exits the frames print as bare 0xADDR). On Linux memtrace names the
// frames itself, from the maps it read while the target lived, as it does for bpftrace: with
// `frames: 'addresses'` the program asks DTrace for Linux not to resolve (`noresolve`: a frame prints
// as `module:0xOFFSET`, its offset in the mapping that holds it, or 0xADDR once the target is gone)
// and BEGIN prints the traced PID (`memtrace:pid PID`), whose maps memtrace reads. macOS has no
// noresolve and no /proc: there DTrace's names are kept (`frames: 'dtrace'`).
//
// Every interpolated value comes from a validated MallocSpec (integers, a module name of a strict
// grammar, symbols that are identifiers, function names of our own tables).
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { sizeCondition, sizeExpression, type MallocSpec, type ProbedFunction } from './malloc-spec.js';
import { MALLOC_DONE_MARKER, MALLOC_END_MARKER } from './render-malloc-bpf.js';

/** The module macOS's allocator lives in (libSystem re-exports it). */
export const DARWIN_MALLOC_MODULE = 'libsystem_malloc.dylib';

/**
 * The allocator functions libsystem_malloc exports with the standard API, each its own function
 * (no aliases to merge). memalign, pvalloc and reallocarray are glibc's and absent there.
 */
export const DARWIN_MALLOC_FUNCTIONS = ['malloc', 'calloc', 'realloc', 'valloc', 'posix_memalign', 'aligned_alloc', 'free'] as const;

/** The tags of the records the program prints, and the prefixes of its printa lines. */
export const D_RECORD = { alloc: 'A', free: 'F' } as const;

const MODULE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** The pid provider matches a module by its base name (`libsystem_malloc.dylib`, `a.out`). */
export function pidProviderModule(library: string): string {
  const name = library.startsWith('/') ? basename(library) : library;
  if (!MODULE.test(name))
    throw new UsageError(`--lib: expected a module name such as ${DARWIN_MALLOC_MODULE}, got ${JSON.stringify(name)}`);
  return name;
}

/**
 * Sizes of DTrace's buffers. bufsize is per CPU (a 10-core Mac holds ten): twice the default 4 MB,
 * emptied ten times a second, for the per-allocation records. dynvarsize holds live[] (one entry
 * per tracked block, some 100 bytes each) and the thread-local in-flight state.
 */
export interface MallocDOptions {
  bufferSize: string;
  dynamicVariableSize: string;
  /** Who names the frames: DTrace as it prints them (macOS), or memtrace from the target's maps (DTrace for Linux). */
  frames?: 'dtrace' | 'addresses';
}

export const DEFAULT_MALLOC_D_OPTIONS: MallocDOptions = { bufferSize: '8m', dynamicVariableSize: '64m', frames: 'dtrace' };

/** The line BEGIN prints under `frames: 'addresses'`: the traced process, whose maps memtrace reads. */
export const D_PID_MARKER = 'memtrace:pid';

const BUFFER_SIZE = /^[1-9][0-9]{0,5}[kmg]?$/;

export function renderMallocD(spec: MallocSpec, options: MallocDOptions = DEFAULT_MALLOC_D_OPTIONS): string {
  for (const value of [options.bufferSize, options.dynamicVariableSize]) {
    if (!BUFFER_SIZE.test(value)) throw new UsageError(`DTrace buffer size: expected a size such as 64m, got ${JSON.stringify(value)}`);
  }
  if (spec.events) throw new UsageError('--events is not available with DTrace: the per-call log needs the bpftrace backend');
  if (spec.statusIntervalMs !== null) throw new UsageError('--interval is not available with DTrace');
  if (spec.timelineIntervalMs !== null) throw new UsageError('--timeline is not available with DTrace');
  if (spec.holdAtExitSymbol !== null || spec.free.mode === 'body')
    throw new UsageError('the DTrace program probes free at its entry or at offsets, and holds no target');
  const provider = `pid${spec.pid === null ? '$target' : String(spec.pid)}`;
  const module = pidProviderModule(spec.library);
  // The pid provider's probe names are entry, return, or an offset into the function in hex.
  const probe = (fn: ProbedFunction, name: 'entry' | 'return' | number) =>
    `${provider}:${module}:${fn.symbol}:${typeof name === 'number' ? name.toString(16) : name}`;
  const addresses = options.frames === 'addresses';
  const blocks: string[] = [
    [
      '#pragma D option quiet',
      `#pragma D option bufsize=${options.bufferSize}`,
      `#pragma D option dynvarsize=${options.dynamicVariableSize}`,
      // The records are read while tracing: a faster switch rate empties the buffers before they fill.
      '#pragma D option switchrate=10hz',
      ...(addresses ? ['#pragma D option noresolve'] : []),
    ].join('\n'),
    THREAD_LOCALS,
    clause('BEGIN', null, [
      'printf("memtrace:begin malloc\\n");',
      ...(addresses ? [`printf("${D_PID_MARKER} %d\\n", ${spec.pid === null ? '$target' : String(spec.pid)});`] : []),
    ]),
  ];

  for (const fn of spec.functions) {
    if (fn.role === 'free') {
      const free = spec.free;
      blocks.push(
        ...(free.mode === 'offset'
          ? renderFreeAtOffsets(fn, probe(fn, free.bodyOffset), free.nullOffset === null ? null : probe(fn, free.nullOffset))
          : renderFree(fn, probe(fn, 'entry'))),
      );
    } else if (fn.role === 'mmap' || fn.role === 'munmap')
      throw new UsageError('--mmap is not available with DTrace (mmap lives in libsystem_kernel, not the allocator)');
    else blocks.push(renderAllocEntry(spec, fn, probe(fn, 'entry')), ...renderAllocReturn(spec, fn, probe(fn, 'return')));
  }

  if (spec.durationMs !== null) blocks.push(clause(`tick-${spec.durationMs}ms`, null, ['exit(0);']));

  blocks.push(clause('END', null, endStatements()));
  return `${blocks.join('\n\n')}\n`;
}

/** The in-flight state of one allocator call, typed (see the header: a first assignment of 0 typed ptr int). */
const THREAD_LOCALS = ['self int fn;', 'self uint64_t size;', 'self uint64_t ptr;', 'self int keep;', 'self uint64_t seq;'].join('\n');

/** The printa lines END prints: `NAME<TAB>KEY…<TAB>VALUE`, then the stacks and the histogram. */
function endStatements(): string[] {
  const keyed = ['calls', 'bytes', 'failed'].map((name) => `printa("${name}\\t%s\\t%@d\\n", @${name});`);
  const scalars = ['free_null', 'ok_allocs', 'ok_bytes', 'frees', 'live_allocs', 'live_frees', 'live_freed_bytes'].map(
    (name) => `printa("${name}\\t%@d\\n", @${name});`,
  );
  return [
    // The end time, in the clock of the records' birth times, gives each outstanding block its age.
    `printf("${MALLOC_END_MARKER} %d\\n", timestamp);`,
    ...keyed,
    ...scalars,
    // One line per stack: its allocations and bytes, then the frames (%k), then a blank line.
    'printa("stack\\t%@d\\t%@d%k\\n", @stack_allocs, @stack_bytes);',
    'printf("size_hist\\n");',
    'printa(@size_hist);',
    `printf("${MALLOC_DONE_MARKER}\\n");`,
    // dtrace prints every aggregation left at exit: emptied, they print nothing a second time.
    ...[
      'calls',
      'bytes',
      'failed',
      'free_null',
      'ok_allocs',
      'ok_bytes',
      'frees',
      'live_allocs',
      'live_frees',
      'live_freed_bytes',
      'stack_allocs',
      'stack_bytes',
      'size_hist',
    ].map((name) => `trunc(@${name});`),
  ];
}

function renderAllocEntry(spec: MallocSpec, fn: ProbedFunction, probe: string): string {
  const pointer = fn.role === 'realloc' || fn.role === 'reallocarray' || fn.role === 'posix_memalign' ? 'arg0' : '0';
  const keep = sizeCondition(spec, 'self->size');
  // Only the outermost allocator call counts (macOS's realloc(NULL, n) and calloc call into the
  // zone functions, reallocf calls realloc); a nested call finds self->fn set and is ignored.
  return clause(probe, 'self->fn == 0', [
    `self->fn = ${fn.id};`,
    `self->size = ${sizeExpression(fn)};`,
    `self->ptr = ${pointer};`,
    `self->keep = ${keep === null ? '1' : `(${keep}) ? 1 : 0`};`,
    // Counting through sum() and a weight keeps one clause: calls outside --min-size/--max-size add 0.
    `@calls["${fn.name}"] = sum(self->keep);`,
    '@size_hist = quantize(self->size, self->keep);',
  ]);
}

function renderAllocReturn(spec: MallocSpec, fn: ProbedFunction, probe: string): string[] {
  const mine = `self->fn == ${fn.id}`;
  const isRealloc = fn.role === 'realloc' || fn.role === 'reallocarray';
  // At a pid-provider return probe arg1 is the return value (arg0 the offset of the return).
  const address =
    fn.role === 'posix_memalign'
      ? // Success (0) leaves the block's address in *out, read from the target's memory.
        'arg1 == 0 ? *(uint64_t *)copyin(self->ptr, sizeof (uint64_t)) : 0'
      : 'arg1';
  const clauses = [clause(probe, mine, [`this->addr = (uint64_t)(${address});`])];
  if (isRealloc) {
    // realloc(p, 0) frees p and may return NULL: a free, not a failed allocation.
    clauses.push(clause(probe, `${mine} && self->ptr != 0 && (this->addr != 0 || self->size == 0)`, ['@frees = count();']));
    clauses.push(...releaseClauses(probe, `${mine} && self->ptr != 0 && (this->addr != 0 || self->size == 0)`, 'self->ptr'));
    clauses.push(
      clause(probe, `${mine} && this->addr == 0 && self->keep && !(self->ptr != 0 && self->size == 0)`, [
        `@failed["${fn.name}"] = count();`,
      ]),
    );
  } else {
    clauses.push(clause(probe, `${mine} && this->addr == 0 && self->keep`, [`@failed["${fn.name}"] = count();`]));
  }
  const ok = `${mine} && this->addr != 0 && self->keep`;
  const exact = ['@ok_allocs = count();', '@ok_bytes = sum(self->size);', `@bytes["${fn.name}"] = sum(self->size);`];
  if (spec.sampleEvery > 1) exact.push('self->seq++;');
  clauses.push(clause(probe, ok, exact));
  // Under --sample N the first allocation of every N (per thread) is kept: the same rule as bpftrace's.
  const sampled = spec.sampleEvery > 1 ? `${ok} && self->seq % ${spec.sampleEvery} == 1` : ok;
  clauses.push(
    clause(probe, sampled, [
      `@stack_allocs[ustack(${spec.stackDepth})] = count();`,
      `@stack_bytes[ustack(${spec.stackDepth})] = sum(self->size);`,
      '@live_allocs = count();',
      'live[this->addr] = self->size + 1;',
      `printf("${D_RECORD.alloc}\\t%x\\t%d\\t%d", this->addr, self->size, timestamp);`,
      `ustack(${spec.stackDepth});`,
      'printf("\\n");',
    ]),
  );
  clauses.push(clause(probe, mine, ['self->fn = 0;', 'self->size = 0;', 'self->ptr = 0;', 'self->keep = 0;']));
  return clauses;
}

/** A free of `pointer` (non-NULL) that memtrace tracks: the record, the counts, the entry cleared. */
function releaseClauses(probe: string, predicate: string, pointer: string): string[] {
  return [
    clause(probe, `${predicate} && live[${pointer}] != 0`, [
      `printf("${D_RECORD.free}\\t%x\\n", ${pointer});`,
      '@live_frees = count();',
      `@live_freed_bytes = sum(live[${pointer}] - 1);`,
      `live[${pointer}] = 0;`,
    ]),
  ];
}

function renderFree(fn: ProbedFunction, probe: string): string[] {
  return [
    // sum(1), not count(): @calls is a sum() aggregation in the allocation clauses, and DTrace wants one function per aggregation.
    clause(probe, 'self->fn == 0 && arg0 == 0', [`@calls["${fn.name}"] = sum(1);`, '@free_null = count();']),
    clause(probe, 'self->fn == 0 && arg0 != 0', [`@calls["${fn.name}"] = sum(1);`, '@frees = count();']),
    ...releaseClauses(probe, 'self->fn == 0 && arg0 != 0', 'arg0'),
  ];
}

/**
 * free probed past its NULL test, as memtrace-bpf does where it can (src/symbols/elf-alias.ts):
 * glibc's free begins with `test %rdi,%rdi`, which a uprobe single-steps, ~10 µs a call under
 * DTrace for Linux as under bpftrace; the instruction past the test is emulated (`free:9`: 2.4 µs
 * for the bare count, docs/performance.md). The pointer is still arg0 there (rdi, checked
 * against uregs[R_RDI] on DTrace for Linux 2.0.7). free(NULL) is counted at the bare `ret` its
 * test jumps to; without one, free(NULL) goes uncounted and the tool says so.
 */
function renderFreeAtOffsets(fn: ProbedFunction, bodyProbe: string, nullProbe: string | null): string[] {
  return [
    ...(nullProbe === null ? [] : [clause(nullProbe, 'self->fn == 0', [`@calls["${fn.name}"] = sum(1);`, '@free_null = count();'])]),
    clause(bodyProbe, 'self->fn == 0', [`@calls["${fn.name}"] = sum(1);`, '@frees = count();']),
    ...releaseClauses(bodyProbe, 'self->fn == 0', 'arg0'),
  ];
}

export function clause(probe: string, predicate: string | null, body: string[]): string {
  return `${probe}\n${predicate === null ? '' : `/${predicate}/\n`}{\n${body.map((line) => `  ${line}`).join('\n')}\n}`;
}
