// Renders an ExternalSpec as a bpftrace program (bpftrace 0.17 and later) whose output is the
// malloc program's (render-malloc-bpf.ts): the same markers and maps, so that one parser
// (parse/malloc-log.ts), one reduction and the malloc reports serve both tools.
//
//   @calls[fn], @bytes[fn], @failed[fn]   per function (Allocate, AllocateUninitialized, Free)
//   @size_hist                             log2 histogram of backing-store sizes
//   @ok_allocs, @ok_bytes, @frees          exact totals
//   @stack_allocs[stack], @stack_bytes[stack], @stack_frames[stack, depth]   by stack
//   @live[address]                         backing stores still allocated: (size, birth ns, stack)
//   @live_allocs/@live_bytes, @live_frees/@live_freed_bytes   to detect blocks a full map dropped
// Stacks are taken at Allocate's return, so its caller (V8's BackingStore::Allocate) is in them,
// and through V8's frames the JS functions that made the buffer (named from the perf map).
//
// Every interpolated value comes from a validated ExternalSpec.
import type { ExternalProbe, ExternalSpec } from './external-spec.js';
import {
  MALLOC_DONE_MARKER,
  MALLOC_END_MARKER,
  MALLOC_HOLD_MARKER,
  indent,
  perFunctionMaps,
  probe,
  programConfig,
  recordLive,
  releaseLive,
  stackResultMaps,
  timelineMapsOf,
  timelineTick,
} from './render-malloc-bpf.js';

const IN_FLIGHT = '@in[tid]';

const RESULT_MAPS = [
  '@calls',
  '@bytes',
  '@failed',
  '@size_hist',
  '@ok_allocs',
  '@ok_bytes',
  '@frees',
  '@live_allocs',
  '@live_bytes',
  '@live_frees',
  '@live_freed_bytes',
  '@stack_allocs',
  '@stack_bytes',
  '@live',
] as const;

export function renderExternalBpf(spec: ExternalSpec): string {
  const pidFilter = `pid == ${spec.pid === null ? '$1' : String(spec.pid)}`;
  const blocks: string[] = [
    ...programConfig(spec, perFunctionMaps(spec.functions)),
    `BEGIN\n{\n  printf("memtrace:begin external\\n");\n}`,
  ];
  for (const fn of spec.functions) {
    if (fn.role === 'free') blocks.push(renderFree(spec, fn, pidFilter));
    else blocks.push(renderEntry(spec, fn, pidFilter), renderReturn(spec, fn, pidFilter));
  }
  if (spec.holdAtExit !== null) {
    // Stops the target in exit() until memtrace has read /proc/PID/maps and sent SIGCONT.
    blocks.push(
      probe(`uprobe:${spec.holdAtExit.library}:${spec.holdAtExit.symbol}`, pidFilter, [
        `printf("${MALLOC_HOLD_MARKER} %d\\n", pid);`,
        'signal("SIGSTOP");',
      ]),
    );
  }
  // Free is always probed: the timeline has its freed sums.
  const timeline = timelineMapsOf(spec.timelineIntervalMs, true);
  if (spec.timelineIntervalMs !== null) blocks.push(timelineTick(spec.timelineIntervalMs, timeline));
  if (spec.durationMs !== null) blocks.push(`interval:ms:${spec.durationMs}\n{\n  exit();\n}`);
  const results = [...RESULT_MAPS, ...(spec.stackMode === 'ustack' ? [] : ['@truncated']), ...stackResultMaps(spec.stackMode), ...timeline];
  blocks.push(
    'END\n{\n' +
      indent([
        `printf("${MALLOC_END_MARKER} %lu\\n", nsecs);`,
        ...results.map((name) => `print(${name});`),
        `printf("${MALLOC_DONE_MARKER}\\n");`,
        ...[...results, '@in'].map((name) => `clear(${name});`),
      ]).join('\n') +
      '\n}',
  );
  return `${blocks.join('\n\n')}\n`;
}

/** The size is arg1: arg0 is the allocator object (`this`). Only the outermost call counts. */
function renderEntry(spec: ExternalSpec, fn: ExternalProbe, pidFilter: string): string {
  return probe(`uprobe:${spec.binary}:${fn.symbol}`, pidFilter, [
    `if (${IN_FLIGHT}.0 == 0) {`,
    ...indent([`@calls["${fn.name}"] = count();`, '@size_hist = hist(arg1);', `${IN_FLIGHT} = (${fn.id}, arg1);`]),
    '}',
  ]);
}

function renderReturn(spec: ExternalSpec, fn: ExternalProbe, pidFilter: string): string {
  return probe(`uretprobe:${spec.binary}:${fn.symbol}`, `${pidFilter} && ${IN_FLIGHT}.0 == ${fn.id}`, [
    '$size = @in[tid].1;',
    '$addr = (uint64)retval;',
    'if ($addr == 0) {',
    `  @failed["${fn.name}"] = count();`,
    '} else {',
    ...indent(['@ok_allocs = count();', '@ok_bytes = sum($size);', `@bytes["${fn.name}"] = sum($size);`, ...recordLive(spec)]),
    '}',
    `delete(${IN_FLIGHT});`,
  ]);
}

/** V8's Free(this, pointer, length): a backing store released; matched against the live map. */
function renderFree(spec: ExternalSpec, fn: ExternalProbe, pidFilter: string): string {
  return probe(`uprobe:${spec.binary}:${fn.symbol}`, `${pidFilter} && arg1 != 0`, [
    `@calls["${fn.name}"] = count();`,
    '@frees = count();',
    ...releaseLive(spec, 'arg1'),
  ]);
}
