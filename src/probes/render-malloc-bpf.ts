// Renders a MallocSpec as a bpftrace program (bpftrace 0.17 and later).
//
// What the program keeps, all in kernel maps (nothing per call reaches user space unless `events`):
//   @calls[fn], @bytes[fn], @failed[fn]   per-function summary (bytes of successful calls)
//   @free_null                             free(NULL) calls, counted apart
//   @size_hist                             log2 histogram of requested sizes
//   @ok_allocs, @ok_bytes, @frees          exact totals of successful allocations and of frees
//   @stack_allocs[stack], @stack_bytes[stack]   allocations by stack (sampled under --sample)
//   @stack_frames[stack, depth]            the return addresses of each stack (frames mode)
//   @live[address]                         blocks still allocated: (size, birth ns, stack)
//   @live_allocs/@live_bytes, @live_frees/@live_freed_bytes   to detect blocks the full map dropped
//   @truncated                             stacks cut at the depth limit
//   @timeline_alloc[stack], @timeline_freed[stack]   bytes allocated, and of those bytes freed, by
//                                          stack since the trace began (--timeline): printed at
//                                          each interval between `memtrace:tick NS MS` and
//                                          `memtrace:tick-end`, and with the results at the end
// Stacks are taken at the function's return, where the frame-pointer chain already includes the
// caller (at the entry the immediate caller is missing: its frame is not set up yet). In `dwarf`
// mode dw_ustack(raw) unwinds with .eh_frame instead and the stack itself is the key of the stack
// maps and the third member of @live's tuple (no @stack_frames: bpftrace keeps its frames).
//
// Every interpolated value comes from a validated MallocSpec: numbers are integers, the library is
// a path or name of a strict grammar, symbols are identifiers and function names are our own.
import { seesFreeNull, sizeCondition, sizeExpression, type MallocSpec, type ProbedFunction, type StackMode } from './malloc-spec.js';
import { validateInteger } from './validate.js';

export const MALLOC_STATUS_MARKER = 'memtrace:status';
export const MALLOC_END_MARKER = 'memtrace:end';
export const MALLOC_HOLD_MARKER = 'memtrace:hold';
export const MALLOC_DONE_MARKER = 'memtrace:done';
export const TIMELINE_TICK_MARKER = 'memtrace:tick';
export const TIMELINE_TICK_END_MARKER = 'memtrace:tick-end';

/** The calling thread's in-flight allocator call: (function id, size, pointer argument, kept). */
const IN_FLIGHT = '@in[tid]';

/** Maps printed at the end, in order; each is cleared after printing so bpftrace prints it only once. */
export const MALLOC_RESULT_MAPS = [
  '@calls',
  '@bytes',
  '@failed',
  '@free_null',
  '@size_hist',
  '@ok_allocs',
  '@ok_bytes',
  '@frees',
  '@truncated',
  '@live_allocs',
  '@live_bytes',
  '@live_frees',
  '@live_freed_bytes',
  '@stack_allocs',
  '@stack_bytes',
  '@live',
] as const;

export function renderMallocBpf(spec: MallocSpec): string {
  const pid = spec.pid === null ? '$1' : String(spec.pid);
  const pidFilter = spec.fromExec ? `pid == ${pid} && @exec_seen == 1` : `pid == ${pid}`;
  const lib = spec.library;
  const blocks: string[] = [...programConfig(spec, perFunctionMaps(spec.functions))];

  blocks.push(`BEGIN\n{\n  printf("memtrace:begin malloc\\n");\n}`);
  if (spec.fromExec) blocks.push(probe('tracepoint:sched:sched_process_exec', `pid == ${pid}`, ['@exec_seen = 1;']));

  for (const fn of spec.functions) {
    if (fn.role === 'free') {
      blocks.push(...renderFree(spec, fn, pidFilter));
    } else if (fn.role === 'munmap') {
      blocks.push(
        probe(`uprobe:${lib}:${fn.symbol}`, pidFilter, [
          `if (${IN_FLIGHT}.0 == 0) {`,
          ...indent([`@calls["${fn.name}"] = count();`, ...releaseBlock(spec, 'arg0')]),
          '}',
        ]),
      );
    } else {
      blocks.push(renderAllocEntry(spec, fn, pidFilter), renderAllocReturn(spec, fn, pidFilter));
    }
  }

  if (spec.holdAtExitSymbol !== null) {
    // Stops the target in exit() until memtrace has read /proc/PID/maps and sent SIGCONT.
    blocks.push(
      probe(`uprobe:${lib}:${spec.holdAtExitSymbol}`, pidFilter, [`printf("${MALLOC_HOLD_MARKER} %d\\n", pid);`, 'signal("SIGSTOP");']),
    );
  }

  if (spec.statusIntervalMs !== null) {
    blocks.push(
      `interval:ms:${spec.statusIntervalMs}\n{\n` +
        indent([
          `printf("${MALLOC_STATUS_MARKER}\\n");`,
          'print(@ok_allocs);',
          'print(@frees);',
          'print(@live_bytes);',
          'print(@live_freed_bytes);',
        ]).join('\n') +
        '\n}',
    );
  }
  if (spec.timelineIntervalMs !== null) blocks.push(timelineTick(spec.timelineIntervalMs, timelineMaps(spec)));
  if (spec.durationMs !== null) {
    blocks.push(`interval:ms:${spec.durationMs}\n{\n  exit();\n}`);
  }

  blocks.push(
    'END\n{\n' +
      indent([
        // The end time, in the clock of the birth times in @live, gives each outstanding block its age.
        `printf("${MALLOC_END_MARKER} %lu\\n", nsecs);`,
        ...resultMaps(spec).map((name) => `print(${name});`),
        `printf("${MALLOC_DONE_MARKER}\\n");`,
        ...[...resultMaps(spec), ...scratchMaps(spec)].map((name) => `clear(${name});`),
      ]).join('\n') +
      '\n}',
  );
  return `${blocks.join('\n\n')}\n`;
}

/**
 * The maps END prints, among MALLOC_RESULT_MAPS those the program defines (bpftrace refuses to print
 * an undefined map); in ustack mode the stacks of live blocks sit in a map of their own.
 */
export function resultMaps(spec: MallocSpec): string[] {
  const roles = new Set(spec.functions.map((fn) => fn.role));
  const omitted = new Set<string>();
  if (!roles.has('free') || !seesFreeNull(spec.free)) omitted.add('@free_null');
  if (spec.stackMode === 'ustack') omitted.add('@truncated');
  const maps: string[] = MALLOC_RESULT_MAPS.filter((name) => !omitted.has(name));
  return [...maps, ...stackResultMaps(spec.stackMode), ...timelineMaps(spec)];
}

/**
 * The timeline's maps the program defines: @timeline_freed only where it frees (bpftrace refuses
 * to print a map nothing writes).
 */
function timelineMaps(spec: MallocSpec): string[] {
  const frees = spec.functions.some(
    (fn) => fn.role === 'free' || fn.role === 'munmap' || fn.role === 'realloc' || fn.role === 'reallocarray',
  );
  return timelineMapsOf(spec.timelineIntervalMs, frees);
}

/** The timeline's maps of a program, with or without release sites (bpftrace refuses to print a map nothing writes). */
export function timelineMapsOf(intervalMs: number | null, frees: boolean): string[] {
  if (intervalMs === null) return [];
  return frees ? ['@timeline_alloc', '@timeline_freed'] : ['@timeline_alloc'];
}

/** The maps that hold or account for stacks, beyond @stack_allocs/@stack_bytes, in each mode. */
export function stackResultMaps(mode: StackMode): string[] {
  switch (mode) {
    case 'ustack':
      return ['@live_stack'];
    case 'frames':
      return ['@stack_frames', '@stack_collisions'];
    case 'dwarf':
      return [];
  }
}

/** hist() of a 64-bit value: one bucket for negative values, one for 0, one per power of two. */
export const HIST_BUCKETS = 66;

/**
 * The lines a program opens with, before any probe: dw_ustack is marked unstable in bpftrace 0.26
 * and 0.27, and refused unless the program enables it. Then, where the bpftrace takes map
 * declarations (`declareSmallMaps`), the capacity of each per-CPU map in `smallMaps`: those whose keys
 * are few and known here ([name, how many keys]). Undeclared, every map is sized by
 * BPFTRACE_MAP_KEYS_MAX, the stack and address maps' --map-entries, and the kernel preallocates a
 * per-CPU map whole on every CPU: a per-function counter then costs what a stack map costs.
 */
export function programConfig(
  spec: { stackMode: StackMode; declareSmallMaps: boolean },
  smallMaps: ReadonlyArray<readonly [name: string, keys: number]> = [],
): string[] {
  const lines = spec.stackMode === 'dwarf' ? ['config = {\n  unstable_dw_ustack = enable\n}'] : [];
  if (spec.declareSmallMaps && smallMaps.length > 0) {
    lines.push(smallMaps.map(([name, keys]) => `let ${name} = percpuhash(${validateInteger('map keys', keys, 1, 1024)});`).join('\n'));
  }
  return lines;
}

/** The per-function maps of the allocation programs (malloc's and external's) and their key counts. */
export function perFunctionMaps(functions: ReadonlyArray<{ name: string; role: string }>): Array<[string, number]> {
  const names = new Set(functions.map((fn) => fn.name)).size;
  const allocating = new Set(functions.filter((fn) => fn.role !== 'free' && fn.role !== 'munmap').map((fn) => fn.name)).size;
  return [
    ['@calls', names],
    ['@bytes', allocating],
    ['@failed', allocating],
    ['@size_hist', HIST_BUCKETS],
  ];
}

function scratchMaps(spec: MallocSpec): string[] {
  const roles = new Set(spec.functions.map((fn) => fn.role));
  const maps = roles.size > 0 ? ['@in'] : [];
  if (spec.sampleEvery > 1) maps.push('@sample_seq');
  if (spec.fromExec) maps.push('@exec_seen');
  return maps;
}

function renderAllocEntry(spec: MallocSpec, fn: ProbedFunction, pidFilter: string): string {
  const size = sizeExpression(fn);
  const pointer = fn.role === 'realloc' || fn.role === 'reallocarray' ? 'arg0' : fn.role === 'posix_memalign' ? 'arg0' : null;
  const keep = sizeCondition(spec, '$size');
  const body = [
    // Only the outermost allocator call counts: glibc's reallocarray calls realloc, realloc(p, 0)
    // calls free, malloc calls mmap; the nested calls hit our probes too.
    // One tuple per thread, (function id, size, pointer argument, kept): one map update at the entry
    // and one delete at the return, the cheapest in-flight state bpftrace offers.
    `if (${IN_FLIGHT}.0 == 0) {`,
    ...indent([
      `$size = ${size};`,
      ...(keep === null
        ? [...countCall(fn), `${IN_FLIGHT} = (${fn.id}, $size, (uint64)${pointer ?? 0}, 1);`]
        : [
            `if (${keep}) {`,
            ...indent([...countCall(fn), `${IN_FLIGHT} = (${fn.id}, $size, (uint64)${pointer ?? 0}, 1);`]),
            '} else {',
            `  ${IN_FLIGHT} = (${fn.id}, $size, (uint64)${pointer ?? 0}, 0);`,
            '}',
          ]),
    ]),
    '}',
  ];
  return probe(`uprobe:${spec.library}:${fn.symbol}`, pidFilter, body);
}

function countCall(fn: ProbedFunction): string[] {
  return [`@calls["${fn.name}"] = count();`, '@size_hist = hist($size);'];
}

function renderAllocReturn(spec: MallocSpec, fn: ProbedFunction, pidFilter: string): string {
  const isRealloc = fn.role === 'realloc' || fn.role === 'reallocarray';
  const body: string[] = [`$in = ${IN_FLIGHT};`, '$size = $in.1;', '$keep = $in.3;'];
  if (fn.role === 'posix_memalign') {
    body.push('$addr = (uint64)0;', 'if (retval == 0) {', '  $addr = *(uint64 *)uptr($in.2);', '}');
  } else if (fn.role === 'mmap') {
    // MAP_FAILED is (void *)-1.
    body.push('$addr = (int64)retval == -1 ? (uint64)0 : (uint64)retval;');
  } else {
    body.push('$addr = (uint64)retval;');
  }
  if (isRealloc) {
    body.push(
      '$old = $in.2;',
      // realloc(p, 0) frees p and may return NULL: a free, not a failed allocation.
      'if ($old != 0 && ($addr != 0 || $size == 0)) {',
      ...indent(releaseBlock(spec, '$old')),
      '}',
      'if ($addr == 0 && $keep && !($old != 0 && $size == 0)) {',
      `  @failed["${fn.name}"] = count();`,
      '}',
    );
  } else {
    body.push('if ($addr == 0 && $keep) {', `  @failed["${fn.name}"] = count();`, '}');
  }
  body.push('if ($addr != 0 && $keep) {', ...indent(recordBlock(spec, fn)), '}');
  body.push(`delete(${IN_FLIGHT});`);
  return probe(`uretprobe:${spec.library}:${fn.symbol}`, `${pidFilter} && ${IN_FLIGHT}.0 == ${fn.id}`, body);
}

/** A successful allocation of $size bytes at $addr: exact totals, then the sampled stack and live record. */
function recordBlock(spec: MallocSpec, fn: ProbedFunction): string[] {
  // Bytes count at success only: a failed request of SIZE_MAX / 2 would wrap the sum around.
  const lines = ['@ok_allocs = count();', '@ok_bytes = sum($size);', `@bytes["${fn.name}"] = sum($size);`];
  if (spec.events) lines.push(`printf("A ${fn.name} %d %lu %lu %lu\\n", tid, nsecs, $addr, $size);`);
  const sampled = recordLive(spec);
  if (spec.sampleEvery === 1) return [...lines, ...sampled];
  return [
    ...lines,
    '@sample_seq[tid] = @sample_seq[tid] + 1;',
    `if (@sample_seq[tid] % ${spec.sampleEvery} == 1) {`,
    ...indent(sampled),
    '}',
  ];
}

/** Frees the block at `pointer` (non-NULL): counted, and removed from the live map if tracked. */
function releaseBlock(spec: MallocSpec, pointer: string): string[] {
  return [
    '@frees = count();',
    ...(spec.events ? [`printf("F %d %lu %lu\\n", tid, nsecs, ${pointer});`] : []),
    ...releaseLive(spec, pointer),
  ];
}

/** What a program keeps of each block it tracks (its stack, its live record, the counts); malloc's and external's. */
export type LiveTracking = Pick<MallocSpec, 'stackMode' | 'stackDepth' | 'timelineIntervalMs'>;

/** A new block of $size bytes at $addr: its stack counted, its live record, and the timeline's sum. */
export function recordLive(spec: LiveTracking): string[] {
  return [
    ...stackLines(spec),
    `@stack_allocs[${stackKey(spec)}] = count();`,
    `@stack_bytes[${stackKey(spec)}] = sum($size);`,
    ...(spec.timelineIntervalMs === null ? [] : ['@timeline_alloc[$stack] = sum($size);']),
    ...liveInsert(spec),
    '@live_allocs = count();',
    '@live_bytes = sum($size);',
  ];
}

/** The block at `pointer` released: if tracked, counted freed (in the timeline too) and forgotten. */
export function releaseLive(spec: LiveTracking, pointer: string): string[] {
  return [
    `$live = @live[${pointer}];`,
    // A tracked block has a non-zero birth time; untracked ones were allocated before the trace.
    'if ($live.1 != 0) {',
    '  @live_frees = count();',
    '  @live_freed_bytes = sum($live.0);',
    ...(spec.timelineIntervalMs === null ? [] : ['  @timeline_freed[$live.2] = sum($live.0);']),
    `  delete(@live[${pointer}]);`,
    ...(spec.stackMode === 'ustack' ? [`  delete(@live_stack[${pointer}]);`] : []),
    '}',
  ];
}

/** --timeline's snapshot: every `intervalMs`, the timeline's maps between the tick markers. */
export function timelineTick(intervalMs: number, maps: string[]): string {
  return (
    `interval:ms:${intervalMs}\n{\n` +
    indent([
      `printf("${TIMELINE_TICK_MARKER} %lu ${intervalMs}\\n", nsecs);`,
      ...maps.map((name) => `print(${name});`),
      `printf("${TIMELINE_TICK_END_MARKER}\\n");`,
    ]).join('\n') +
    '\n}'
  );
}

function renderFree(spec: MallocSpec, fn: ProbedFunction, pidFilter: string): string[] {
  const counted = (lines: string[]) => [`if (${IN_FLIGHT}.0 == 0) {`, ...indent([`@calls["${fn.name}"] = count();`, ...lines]), '}'];
  if (spec.free.mode === 'entry') {
    return [
      probe(
        `uprobe:${spec.library}:${fn.symbol}`,
        pidFilter,
        counted(['if (arg0 == 0) {', '  @free_null = count();', '} else {', ...indent(releaseBlock(spec, 'arg0')), '}']),
      ),
    ];
  }
  const [body, nullReturn] =
    spec.free.mode === 'body'
      ? [spec.free.bodySymbol, spec.free.nullSymbol]
      : [`${fn.symbol}+${spec.free.bodyOffset}`, spec.free.nullOffset === null ? null : `${fn.symbol}+${spec.free.nullOffset}`];
  const probes = [probe(`uprobe:${spec.library}:${body}`, pidFilter, counted(releaseBlock(spec, 'arg0')))];
  if (nullReturn !== null) {
    probes.push(probe(`uprobe:${spec.library}:${nullReturn}`, pidFilter, counted(['@free_null = count();'])));
  }
  return probes;
}

/**
 * Statements that capture the current user stack: in `frames` mode into `$stack`, a 64-bit hash of
 * the return addresses, with the addresses themselves stored once per distinct stack in
 * @stack_frames[hash, depth]. Hashing keeps map keys at 8 bytes (cheap per call) and the program
 * small (a bounded loop; an unrolled walk of 24 frames took bpftrace 0.17 over 10 s to compile).
 */
export function stackLines(spec: Pick<MallocSpec, 'stackMode' | 'stackDepth'>): string[] {
  if (spec.stackMode === 'ustack') return [];
  if (spec.stackMode === 'dwarf') {
    // Taken once into a variable: the stack is the key of two maps and a member of @live's tuple.
    // A stack as deep as the limit may go on beyond it: counted as cut (a stack of exactly that
    // depth is counted too: bpftrace gives no way to ask for one frame more than it keeps).
    return [`$stack = dw_ustack(raw, ${spec.stackDepth});`, `if (len($stack) == ${spec.stackDepth}) {`, '  @truncated = count();', '}'];
  }
  // At a return probe the instruction pointer is the return address in the caller, and %rbp is the
  // caller's frame: walk the saved (rbp, return address) pairs. Unreadable memory reads as 0.
  return renderStackWalk({ depth: spec.stackDepth, leaf: 'reg("ip")', framePointer: 'reg("bp")', readUser: readUprobeMemory });
}

/** At a uprobe, plain dereferences read user memory. */
function readUprobeMemory(address: string): string {
  return `*(uint64 *)${/^\$[a-z]+$/.test(address) ? address : `(${address})`}`;
}

/** Where a stack walk starts and how it reads the target's memory, for renderStackWalk. */
export interface StackWalkOptions {
  /** Frames kept, leaf included (the --stack-depth). */
  depth: number;
  /** Expression of the leaf frame's address (depth 0). */
  leaf: string;
  /** Expression of the frame pointer the walk starts from. */
  framePointer: string;
  /** The expression reading the 64-bit word of user memory at `address` (through `uptr` where the probe's default is kernel memory). */
  readUser: (address: string) => string;
  /**
   * Expressions of frames stored between the leaf and the walked ones (depths 1…n), such as the word
   * at the stack pointer: the caller of a frameless leaf, which the frame-pointer chain skips.
   */
  extraFrames?: string[];
  /**
   * End the walk at a saved frame pointer that does not lie above the current one: frames go up the
   * stack, so a smaller one is not a frame pointer (code built without them used the register).
   */
  upwardOnly?: boolean;
  /** The walk runs in a kernel probe (reads through uptr()): values read are kept in untyped variables. */
  kernelProbe?: boolean;
}

/**
 * The bounded frame-pointer walk of every memtrace bpftrace program: leaves `$stack` (a 53-bit hash
 * of the frames, the key of the per-stack maps) and `$depth`, stores each new stack's frames once in
 * @stack_frames[hash, depth], and counts @truncated stacks and @stack_collisions.
 */
export function renderStackWalk(options: StackWalkOptions): string[] {
  const { depth, leaf, framePointer, readUser: read } = options;
  const extra = options.extraFrames ?? [];
  // In a kernel probe every value read from the target's memory lands in a variable first typed as a
  // plain integer (untyped): bpftrace 0.23 tags values read through uptr() as user memory and warns
  // ("Addrspace mismatch") wherever they meet kernel values. In a uprobe, where everything is user
  // memory, 0.17 warns about the plain integer instead ("Addrspace is not set").
  const assign = options.kernelProbe ? untyped : (variable: string, expression: string) => [`${variable} = ${expression};`];
  const walk = (body: string[]) => [
    ...assign('$fp', framePointer),
    `$depth = ${1 + extra.length};`,
    `while ($depth < ${depth} && $fp != 0) {`,
    ...indent(assign('$ret', read('$fp + 8'))),
    '  if ($ret == 0) { break; }',
    ...indent(body),
    ...(options.upwardOnly
      ? [...indent(assign('$next', read('$fp'))), '  if ($next <= $fp) { $next = 0; }', '  $fp = $next;']
      : [`  $fp = ${read('$fp')};`]),
    '  $depth++;',
    '}',
  ];
  return [
    `$stack = (uint64)${leaf};`,
    ...extra.flatMap((expression, index) => [
      ...assign(`$extra${index + 1}`, expression),
      `$stack = ($stack * 1099511628211) ^ $extra${index + 1};`,
    ]),
    // FNV-style mixing: distinct stacks collide with odds of about n^2 / 2^54, and a collision is
    // detected (the leaf differs) and counted in @stack_collisions.
    ...walk(['$stack = ($stack * 1099511628211) ^ $ret;']),
    // 53 bits: the hash also travels as a tuple value, which bpftrace's JSON prints as a number that
    // JavaScript reads exactly only below 2^53.
    '$stack = $stack & 0x1fffffffffffff;',
    ...(options.kernelProbe
      ? [
          '$tail = (uint64)0;',
          `if ($depth == ${depth} && $fp != 0) { $tail = ${read('$fp + 8')}; }`,
          'if ($tail != 0) { @truncated = count(); }',
        ]
      : [`if ($depth == ${depth} && $fp != 0 && ${read('$fp + 8')} != 0) { @truncated = count(); }`]),
    '$leaf = @stack_frames[$stack, 0];',
    'if ($leaf == 0) {',
    ...indent([
      `@stack_frames[$stack, 0] = ${leaf};`,
      ...extra.map((_, index) => `@stack_frames[$stack, ${index + 1}] = $extra${index + 1};`),
      ...walk(['@stack_frames[$stack, $depth] = $ret;']),
    ]),
    `} else if ($leaf != ${leaf}) {`,
    '  @stack_collisions = count();',
    '}',
  ];
}

/**
 * `variable = expression` without the expression's address space: bpftrace tags values read from
 * kernel memory and from user memory apart and warns ("Addrspace mismatch") wherever they meet, as
 * they must in a stack hash; a variable first typed by a plain integer takes either silently.
 */
export function untyped(variable: string, expression: string): string[] {
  return [`${variable} = (uint64)0;`, `${variable} = ${expression};`];
}

export function stackKey(spec: Pick<MallocSpec, 'stackMode' | 'stackDepth'>): string {
  return spec.stackMode === 'ustack' ? `ustack(perf, ${spec.stackDepth})` : '$stack';
}

export function liveInsert(spec: Pick<MallocSpec, 'stackMode' | 'stackDepth'>): string[] {
  if (spec.stackMode === 'ustack') {
    return ['@live[$addr] = ($size, nsecs);', `@live_stack[$addr] = ustack(perf, ${spec.stackDepth});`];
  }
  return ['@live[$addr] = ($size, nsecs, $stack);'];
}

/**
 * The path a `usdt:` probe names for a binary of the traced process. With the PID known, the binary
 * is named through /proc/PID/root: bpftrace 0.27, given `-p PID` and the plain path, attaches each
 * USDT probe twice (through the path and through /proc/PID/root) and every event fires twice
 * (measured on Debian's python3.11: 46 function__entry for 23 calls); 0.17 and 0.23 attach the
 * /proc form once as well. A standalone script (PID `$1`) keeps the plain path.
 */
export function usdtPath(binary: string, pid: number | null): string {
  return pid === null || binary.startsWith('/proc/') ? binary : `/proc/${pid}/root${binary}`;
}

export function probe(specifier: string, predicate: string, body: string[]): string {
  return `${specifier}\n/${predicate}/\n{\n${indent(body).join('\n')}\n}`;
}

export function indent(lines: string[]): string[] {
  return lines.map((line) => `  ${line}`);
}
