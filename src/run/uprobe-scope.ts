// Where a tool's uprobes trap, and the warning a tool prints before it attaches when they trap in
// every process that uses the probed file, not in the traced one alone.
//
// A bpftrace without per-PID uprobes (Debian 12's 0.17: no uprobe_multi link) attaches a uprobe to
// the file; every process mapping that file then traps on it, and the program's PID test runs only
// after the trap. The figures are measured ones, from docs/compat.md ("What free costs under each").
import type { Bpftrace } from './bpftrace.js';

/**
 * What a trap costs a process memtrace is not tracing, as measured: an untraced neighbour's
 * malloc(64)+free loop of 100,000 pairs while memtrace traced another command with --shared-libc.
 */
export const SHARED_UPROBE_COST = {
  /** 1.19 s / 100,000 pairs: two probed calls a pair. */
  usPerPair: 11.9,
  usPerCall: 6,
  slowdown: 785,
  /** The same loop with bpftrace 0.23's per-PID uprobes. */
  slowdownPerPid: 1.8,
  measuredOn: 'bpftrace 0.17, Debian 12 VM with 2 cores, glibc 2.36; docs/compat.md',
} as const;

/** Where uprobes on `file` trap, for the choices of every tool that places them. */
export function uprobeScopeChoice(bpftrace: Bpftrace, file: string): string {
  return bpftrace.features.pidScopedUprobes
    ? `uprobes attached for the traced process only (per-PID uprobes): other processes using ${file} do not trap`
    : `uprobes attached to ${file}'s file: every process using it traps on them while memtrace runs (this bpftrace has no per-PID uprobes)`;
}

export interface SharedUprobeWarningOptions {
  bpftrace: Bpftrace;
  /** The files the probes go on (full paths). */
  files: readonly string[];
  /** What is traced: an attached PID, or the command memtrace launches. */
  target: { kind: 'attach'; pid: number } | { kind: 'launch' };
  /** Which calls trap, for the cost line: `malloc and free`, `the --func functions`. */
  calls: string;
  /** What else avoids it for this tool and target (launching instead of attaching, dropping an option), besides a newer bpftrace. */
  otherRemedies?: readonly string[];
}

/**
 * The lines a tool prints on stderr before tracing when its uprobes will trap in every process that
 * uses `files`; none when this bpftrace scopes uprobes to the traced process.
 */
export function sharedUprobeWarning(options: SharedUprobeWarningOptions): string[] {
  const { bpftrace, files } = options;
  if (bpftrace.features.pidScopedUprobes || files.length === 0) return [];
  const traced = options.target.kind === 'attach' ? `PID ${options.target.pid}` : 'the command';
  const cost = SHARED_UPROBE_COST;
  const which = `bpftrace ${bpftrace.version ?? '(version unknown)'} at ${bpftrace.path}`;
  return [
    `memtrace: warning: ${which} has no per-PID uprobes: while memtrace traces ${traced}, every process that uses ${files.join(', ')} traps on ${options.calls}, not ${traced} alone.`,
    `memtrace:   cost to each of them: about ${cost.usPerCall} µs a probed call, ${cost.usPerPair} µs a malloc+free pair (an untraced neighbour's malloc/free loop ran ${cost.slowdown}× slower; measured with ${cost.measuredOn}).`,
    `memtrace:   to avoid it: "sudo memtrace setup-bpftrace" installs a bpftrace with per-PID uprobes for memtrace (0.23 or later: the neighbour ran ${cost.slowdownPerPid}×; "memtrace doctor" says what this machine has)${(options.otherRemedies ?? []).map((remedy) => `; or ${remedy}`).join('')}.`,
  ];
}

/** Writes sharedUprobeWarning's lines, if any, to the tool's stderr: before tracing starts, so that the user can stop first. */
export function warnSharedUprobes(stderr: { write(text: string): unknown }, options: SharedUprobeWarningOptions): void {
  for (const line of sharedUprobeWarning(options)) stderr.write(`${line}\n`);
}
