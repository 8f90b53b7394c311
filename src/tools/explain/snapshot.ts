// One explanation of one process's RSS, now: its mappings (smaps), its threads' stacks, its
// allocator's state read from outside (without stopping it), classified and diagnosed.
import { readFile } from 'node:fs/promises';
import { TargetError } from '../../errors.js';
import { PART_ORDER, type RssExplanation, type RssPart } from '../../model/rss-explanation.js';
import type { HeapValues } from '../../sample/sampler.js';
import { carveNodeParts } from './runtime-parts.js';
import { readThreadStackPointers } from '../../sample/thread-stacks.js';
import { readProcFile } from '../../symbols/proc-maps.js';
import { readProcSmaps, type SmapsMapping } from '../../symbols/proc-smaps.js';
import { ALLOCATOR_LIBRARIES } from '../common/allocator.js';
import { classifyMappings } from './classify.js';
import { diagnose } from './diagnose.js';
import { readAllocatorState } from './allocator-state.js';
import { readPythonArenas } from './python-arenas.js';

const HOW: Record<RssPart['kind'], { accuracy: RssPart['accuracy']; how: string }> = {
  'malloc-live': {
    accuracy: 'exact',
    how: "resident pages of glibc's chunks in use, walked in each arena from outside; blocks mmapped on their own, whole",
  },
  'malloc-retained': { accuracy: 'exact', how: "the rest of the arenas' resident pages: free chunks, the top chunk, headers" },
  'malloc-unsplit': { accuracy: 'exact', how: "the [heap] mapping's Rss, not split (glibc's state could not be read)" },
  'v8-heap': {
    accuracy: 'estimate',
    how: "V8's committed heap (process.memoryUsage().heapTotal, through the program's inspector), taken out of the other anonymous memory it lives in",
  },
  'v8-external': {
    accuracy: 'estimate',
    how: "memory V8 objects hold outside its heap (process.memoryUsage().external, ArrayBuffers included), taken out of malloc's live blocks that hold it",
  },
  pymalloc: {
    accuracy: 'exact',
    how: "resident pages of CPython's arenas, found in anonymous memory by their pools' headers; empty pools apart from pools in use",
  },
  file: { accuracy: 'exact', how: 'Rss of every file-backed mapping (copy-on-write pages of a file included)' },
  stacks: {
    accuracy: 'estimate',
    how: "Rss of [stack] and of the mappings holding a thread's stack pointer or shaped as glibc's thread stacks",
  },
  'anon-other': { accuracy: 'exact', how: 'Rss of every other mapping (anonymous memory, [vdso], [vvar])' },
};

export interface SnapshotOptions {
  /** V8's figures of a Node target, read through its inspector just before; null when not asked or not Node. */
  nodeHeap: HeapValues | null;
}

export async function explainProcess(pid: number, options: SnapshotOptions): Promise<RssExplanation> {
  const takenAt = new Date().toISOString();
  const kernelRssBytes = await readVmRss(pid);
  const command = await readFile(`/proc/${pid}/cmdline`, 'latin1').then(
    (text) => text.split('\0').filter(Boolean).join(' '),
    () => '',
  );
  const mappings = await readProcSmaps(pid);
  if (mappings.length === 0) throw new TargetError(`process ${pid} has no memory map: a kernel thread has no user memory to explain`);
  const threads = await readThreadStackPointers(pid).catch(() => []);
  const allocator = await readAllocatorState(pid, mappings);
  const python = await readPythonArenas(pid, mappings);
  const classified = classifyMappings(mappings, threads, allocator.layout, python?.claims ?? []);
  const rssBytes = classified.rssBytes;
  const runtimeNotes = options.nodeHeap === null ? [] : carveNodeParts(classified.parts, options.nodeHeap);
  const ordered = PART_ORDER.flatMap((kind) => classified.parts.filter((part) => part.kind === kind));
  const parts: RssPart[] = ordered.map((part) => ({
    kind: part.kind,
    bytes: part.bytes,
    share: rssBytes === 0 ? 0 : part.bytes / rssBytes,
    ...HOW[part.kind],
    count: part.count,
    members: part.members,
    ...(part.carvedOut === undefined ? {} : { carvedOut: part.carvedOut }),
  }));
  const notes: string[] = [...runtimeNotes, ...(python?.notes ?? [])];
  const otherAllocator = otherAllocatorOf(mappings);
  if (otherAllocator !== null)
    notes.push(
      `${otherAllocator.name} is loaded (${otherAllocator.path}): the blocks it serves are not in glibc's arenas, and its heap is in "other anonymous memory"`,
    );
  if (allocator.state?.partial)
    notes.push(
      `glibc's heaps changed while they were read (a thread was allocating), so live and retained are from an incomplete walk ${allocator.state.partial}`,
    );
  notes.push(...(allocator.state?.notes.map((note) => `glibc: ${note}`) ?? []));
  const drift = Math.abs(rssBytes - kernelRssBytes);
  if (kernelRssBytes > 0 && drift / kernelRssBytes > 0.02)
    notes.push(`the RSS moved by ${Math.round((drift / kernelRssBytes) * 100)}% while the mappings were read (the process is busy)`);
  return {
    tool: 'explain',
    pid,
    command,
    takenAt,
    rssBytes,
    kernelRssBytes,
    parts,
    allocator: allocator.state,
    allocatorNote: allocator.note,
    threads: { count: threads.length, stacksFound: classified.stacksFound },
    diagnosis: diagnose(parts, {
      pid,
      allocator: allocator.state,
      allocatorNote: allocator.note,
      threads: threads.length,
      otherAllocator: otherAllocator?.name ?? null,
    }),
    notes,
  };
}

/** An allocator other than glibc's mapped in the process (preloaded or linked), by its library's name. */
function otherAllocatorOf(mappings: SmapsMapping[]): { name: string; path: string } | null {
  for (const [name, pattern] of Object.entries(ALLOCATOR_LIBRARIES)) {
    if (name === 'glibc') continue;
    const mapping = mappings.find((candidate) => pattern.test(candidate.path));
    if (mapping !== undefined) return { name, path: mapping.path };
  }
  return null;
}

async function readVmRss(pid: number): Promise<number> {
  const { file, text } = await readProcFile(pid, 'status');
  if (/^State:\s+Z/m.test(text))
    throw new TargetError(`process ${pid} has exited (a zombie its parent has not reaped): it has no memory left`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  // A kernel thread's status has no VmRSS line.
  if (match === null) {
    if (/^Kthread:\s+1$/m.test(text) || !/^VmSize:/m.test(text))
      throw new TargetError(`process ${pid} is a kernel thread: it has no user memory to explain`);
    throw new TargetError(`${file} has no VmRSS line`);
  }
  return Number(match[1]) * 1024;
}
