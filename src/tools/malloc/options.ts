// The malloc tool's options, shared by its bpftrace (malloc.ts) and DTrace (dtrace.ts) paths.
import type { MallocValueName } from '../../model/malloc-profile.js';
import type { StackUnwinder } from '../../run/stack-unwinder.js';
import type { AllocatorName } from '../common/allocator.js';
import type { ReportRequest } from '../common/write-reports.js';
import type { TracingOptions } from '../common/tracing.js';

/** The options every tracing tool takes (TracingOptions), and malloc's own. */
export interface MallocOptions extends TracingOptions {
  /** bpftrace on Linux; DTrace (tools/malloc/dtrace.ts) on macOS. */
  backend: 'bpf' | 'dtrace';
  reports: ReportRequest[];
  allocator: AllocatorName | null;
  lib: string | null;
  prefix: string;
  mmap: boolean;
  minSize: number | null;
  maxSize: number | null;
  sampleEvery: number;
  stackDepth: number;
  /** --stacks: how user stacks are unwound; null lets memtrace choose (src/run/stack-unwinder.ts). */
  stacks: StackUnwinder | null;
  statusIntervalMs: number | null;
  /** --timeline: every stack's outstanding bytes every so many milliseconds, and the growth ranking. */
  timelineIntervalMs: number | null;
  eventsOut: string | null;
  /** Probe the system's libc even for a launched command (no private copy). */
  sharedLibc: boolean;
  value: MallocValueName;
  top: number;
  /** Live-address and stack map capacity (BPFTRACE_MAP_KEYS_MAX). */
  mapEntries: number;
  /** Ask a launched Node command for a perf map (JS function names in the stacks). */
  js: boolean;
}
