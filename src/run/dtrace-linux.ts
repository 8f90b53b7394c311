// What DTrace for Linux needs of this machine at run time, and what it may leave behind.
//
// - Its tracefs path is fixed at /sys/kernel/debug/tracing (libdtrace reads uprobe_events, events/…
//   there and nowhere else), so debugfs must be mounted at /sys/kernel/debug; mounting debugfs brings
//   tracefs along at debug/tracing. Without it, every program fails with "could not enable tracing:
//   Failed to enable dtrace:::BEGIN: No such file or directory".
// - It creates its own probes (BEGIN, END, ERROR; and uprobes it cannot make through perf's uprobe
//   PMU) as tracefs uprobe_events entries in groups named dt_<its pid>_… (libdtrace's formats
//   "p:dt_%d_%s/%s" and "%c:dt_%d_%s_%s/%s"), and removes them at its normal exit. A dtrace that is
//   killed leaves them there, for good. memtrace removes those of a dtrace it started once that dtrace
//   is gone (the pid in the group name is the one memtrace spawned: the wrapper execs), and only those:
//   another dtrace's entries are that dtrace's business.
import { appendFile, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { TracerError } from '../errors.js';
import { exists } from './file-access.js';

export const DEBUGFS = '/sys/kernel/debug';
export const DTRACE_TRACEFS = `${DEBUGFS}/tracing`;
export const UPROBE_EVENTS = `${DTRACE_TRACEFS}/uprobe_events`;

/** Mounts debugfs (and tracefs under it) where DTrace for Linux looks, when it is not; says so. */
export async function ensureDebugfs(notify: (message: string) => void): Promise<void> {
  if (await exists(UPROBE_EVENTS)) return;
  const tried: string[] = [];
  if (!(await exists(`${DEBUGFS}/tracing`))) {
    const debugfs = await execa('mount', ['-t', 'debugfs', 'nodev', DEBUGFS], { reject: false, all: true });
    if (debugfs.failed) tried.push(`mount -t debugfs: ${firstLine(`${debugfs.all}`)}`);
  }
  // Kernels that do not mount tracefs under debugfs by themselves.
  if (!(await exists(UPROBE_EVENTS)) && (await exists(DTRACE_TRACEFS))) {
    const tracefs = await execa('mount', ['-t', 'tracefs', 'nodev', DTRACE_TRACEFS], { reject: false, all: true });
    if (tracefs.failed) tried.push(`mount -t tracefs: ${firstLine(`${tracefs.all}`)}`);
  }
  if (!(await exists(UPROBE_EVENTS))) {
    throw new TracerError(
      `DTrace for Linux needs debugfs at ${DEBUGFS} (it reads tracefs at ${DTRACE_TRACEFS} only), and mounting it failed${tried.length > 0 ? ` (${tried.join('; ')})` : ''}: run "mount -t debugfs nodev ${DEBUGFS}"`,
    );
  }
  notify(`memtrace: mounted debugfs at ${DEBUGFS} (DTrace for Linux reads tracefs at ${DTRACE_TRACEFS})`);
}

/** The uprobe_events entries (`p:GROUP/EVENT`) a dtrace of process `pid` made. */
export function dtraceUprobeEntries(uprobeEvents: string, pid: number): string[] {
  const group = `dt_${pid}_`;
  return uprobeEvents
    .split('\n')
    .map((line) => /^[pr]:(\S+\/\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name.startsWith(group));
}

/**
 * Removes what a dtrace memtrace started, now gone, left in uprobe_events; returns the entries removed.
 * A dtrace still alive is left alone (its entries are in use), and so is any other process's entry.
 */
export async function removeDtraceUprobes(pid: number, alive: (pid: number) => boolean): Promise<string[]> {
  if (alive(pid)) return [];
  let text: string;
  try {
    text = await readFile(UPROBE_EVENTS, 'utf8');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of dtraceUprobeEntries(text, pid)) {
    try {
      await appendFile(UPROBE_EVENTS, `-:${entry}\n`);
      removed.push(entry);
    } catch {
      // EBUSY: something still has it enabled; ENOENT: removed meanwhile. Either way not memtrace's to force.
    }
  }
  return removed;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] || 'no message';
}
