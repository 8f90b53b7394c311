// Renders a GcSpec as a bpftrace program (bpftrace 0.17 and later).
//
// One printf record per collection, at its end (collections are few: tens a second at most):
//   G START_NS PAUSE_NS TID COLLECTOR REASON RSS_BEFORE RSS_AFTER
// START_NS is bpftrace's nsecs (CLOCK_MONOTONIC) at the entry; "memtrace:begin gc NS" gives the
// same clock at the start of the trace, "memtrace:end NS" at its end. COLLECTOR is V8's
// GarbageCollector number (symbol probes) or v8::GCType bits (USDT probes); REASON is V8's
// GarbageCollectionReason number, -1 where the probe has none. RSS is read from the task's memory
// counters (curtask->mm->rss_stat, BTF): file + anon + shmem pages, in bytes.
//
// Every interpolated value comes from a validated GcSpec (a path and a symbol of strict grammars,
// integers).
import type { GcSpec } from './gc-spec.js';
import { probe, usdtPath } from './render-malloc-bpf.js';

export const GC_BEGIN_MARKER = 'memtrace:begin gc';
export const GC_END_MARKER = 'memtrace:end';
export const GC_RECORD_TAG = 'G';

export function renderGcBpf(spec: GcSpec): string {
  const pidFilter = `pid == ${spec.pid === null ? '$1' : String(spec.pid)}`;
  const [entry, exit] =
    spec.probe.kind === 'symbol'
      ? [`uprobe:${spec.binary}:${spec.probe.symbol}`, `uretprobe:${spec.binary}:${spec.probe.symbol}`]
      : [`usdt:${usdtPath(spec.binary, spec.pid)}:node:gc__start`, `usdt:${usdtPath(spec.binary, spec.pid)}:node:gc__done`];
  // PerformGarbageCollection(this, collector, reason, …): arg0 is the Heap. gc__start(type, flags, isolate).
  // Both enums are C++ ints: the upper half of the 64-bit register is not theirs to define.
  const [collector, reason] = spec.probe.kind === 'symbol' ? ['(int32)arg1', '(int32)arg2'] : ['(int32)arg0', '-1'];
  const rss = (name: string) => [
    '$mm = curtask->mm;',
    `${name} = ($mm->rss_stat[0].count + $mm->rss_stat[1].count + $mm->rss_stat[3].count) * ${spec.pageSize};`,
  ];
  const blocks = [
    `BEGIN\n{\n  printf("${GC_BEGIN_MARKER} %lu\\n", nsecs);\n}`,
    probe(entry, pidFilter, [
      ...rss('$rss'),
      // One collection at a time per thread (a worker's isolate collects on its own thread).
      `@gc[tid] = (nsecs, (int64)${collector}, (int64)${reason}, $rss);`,
    ]),
    probe(exit, `${pidFilter} && @gc[tid].0 != 0`, [
      '$gc = @gc[tid];',
      ...rss('$after'),
      `printf("${GC_RECORD_TAG} %lu %lu %d %ld %ld %ld %ld\\n", $gc.0, nsecs - $gc.0, tid, $gc.1, $gc.2, $gc.3, $after);`,
      'delete(@gc[tid]);',
    ]),
  ];
  if (spec.durationMs !== null) blocks.push(`interval:ms:${spec.durationMs}\n{\n  exit();\n}`);
  blocks.push(`END\n{\n  printf("${GC_END_MARKER} %lu\\n", nsecs);\n  clear(@gc);\n}`);
  return `${blocks.join('\n\n')}\n`;
}
