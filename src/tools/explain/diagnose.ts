// The diagnosis: which parts of the RSS are worth a user's attention, each with the evidence and the
// usual remedy, biggest first. A part is named when it holds a large share of the RSS; the rules say
// what that share usually means, not more: memtrace states what it measured and what to run next.
import type { AllocatorState, Diagnosis, RssPart } from '../../model/rss-explanation.js';
import { formatBytes } from '../../report/units.js';
import { PYMALLOC_EMPTY } from './python-arenas.js';

/** Below this, no part is worth a finding of its own: a small process has nothing to fix. */
const MIN_FINDING_BYTES = 4 * 1024 * 1024;

interface Rule {
  /** The share of the RSS from which the part is named. */
  minShare: number;
  diagnose(part: RssPart, context: DiagnosisContext): Omit<Diagnosis, 'cause' | 'share'>;
}

export interface DiagnosisContext {
  pid: number;
  allocator: AllocatorState | null;
  allocatorNote: string | null;
  threads: number;
  /** jemalloc, tcmalloc or mimalloc when the process maps one: its heap is anonymous memory. */
  otherAllocator: string | null;
}

const RULES: Partial<Record<RssPart['kind'], Rule>> = {
  'malloc-retained': {
    minShare: 0.2,
    diagnose(part, { allocator }) {
      const arenas = allocator?.arenas ?? [];
      const top = arenas.reduce((sum, arena) => sum + arena.topResidentBytes, 0);
      const biggest = [...arenas].sort((a, b) => b.freeResidentBytes - a.freeResidentBytes)[0];
      const remedies: string[] = [];
      if (arenas.length > 2)
        remedies.push(`MALLOC_ARENA_MAX=2 in the environment: ${arenas.length} arenas each keep their own free memory`);
      remedies.push('malloc_trim(0) from the program (glibc then gives back free pages inside its heaps, not only at their end)');
      if (top > part.bytes / 2)
        remedies.push('a lower trim threshold (GLIBC_TUNABLES=glibc.malloc.trim_threshold=…): most of it is at the end of a heap');
      remedies.push('another allocator that returns freed pages: LD_PRELOAD=libjemalloc.so.2 (or tcmalloc)');
      return {
        summary: `${percent(part.share)} of RSS is freed memory that glibc retains, in ${arenas.length} arena${arenas.length === 1 ? '' : 's'}`,
        evidence: [
          `${formatBytes(part.bytes)} resident in free chunks and headers, ${formatBytes(top)} of it at the top of a heap`,
          ...(biggest === undefined
            ? []
            : [
                `the most in ${biggest.main ? 'the main arena' : `the arena at 0x${biggest.address}`}: ${formatBytes(biggest.freeResidentBytes)}`,
              ]),
        ],
        remedies,
      };
    },
  },
  'malloc-live': {
    minShare: 0.3,
    diagnose(part, { pid }) {
      return {
        summary: `${percent(part.share)} of RSS is blocks the program still holds`,
        evidence: [
          `${formatBytes(part.bytes)} resident in chunks in use`,
          ...part.members.slice(0, 3).map((m) => `${m.name}: ${formatBytes(m.bytes)}`),
        ],
        remedies: [
          `memtrace malloc -p ${pid} shows which stacks hold them; --timeline 10s ranks the stacks that keep growing`,
          'a leak grows steadily; a cache or a pool levels off: see docs/tools/malloc.md',
        ],
      };
    },
  },
  'malloc-unsplit': {
    minShare: 0.3,
    diagnose(part, { allocatorNote }) {
      return {
        summary: `${percent(part.share)} of RSS is the malloc heap, which memtrace could not split into live and retained`,
        evidence: [`${formatBytes(part.bytes)} resident in [heap]`, ...(allocatorNote === null ? [] : [allocatorNote])],
        remedies: ["install libc6-dbg (Debian, Ubuntu) or glibc-debuginfo so that memtrace can read glibc's arenas"],
      };
    },
  },
  'v8-heap': {
    minShare: 0.3,
    diagnose(part, { pid }) {
      return {
        summary: `${percent(part.share)} of RSS is V8's heap: JavaScript objects`,
        evidence: part.members.map((member) => `${member.name}: ${formatBytes(member.bytes)}`),
        remedies: [
          `memtrace trace-malloc -- node … shows which JavaScript functions allocate; memtrace gc -p ${pid} whether the collector keeps up`,
          'a heap that stays near --max-old-space-size makes V8 collect often; one that grows without end is a leak: compare two heap snapshots',
        ],
      };
    },
  },
  'v8-external': {
    minShare: 0.2,
    diagnose(part, { pid }) {
      return {
        summary: `${percent(part.share)} of RSS is memory JavaScript objects hold outside V8's heap (ArrayBuffers, Buffers)`,
        evidence: [`${formatBytes(part.bytes)} of external memory, in malloc's blocks`],
        remedies: [`memtrace external -p ${pid} shows which JavaScript stacks allocate the backing stores that stay`],
      };
    },
  },
  pymalloc: {
    minShare: 0.3,
    diagnose(part) {
      const empty = part.members.find((member) => member.name === PYMALLOC_EMPTY)?.bytes ?? 0;
      const remedies = [
        'memtrace calls (or tracemalloc) shows which Python code allocates them',
        'PYTHONMALLOC=malloc hands small objects to glibc instead, where malloc_trim and MALLOC_ARENA_MAX apply (slower)',
      ];
      if (empty > part.bytes / 4)
        remedies.unshift(
          'pymalloc gives an arena back only when all of its pools are empty: objects that outlive a burst keep whole arenas',
        );
      return {
        summary: `${percent(part.share)} of RSS is CPython's small-object arenas (pymalloc)`,
        evidence: [`${formatBytes(part.bytes)} resident in arenas, ${formatBytes(empty)} of it in empty pools that pymalloc keeps`],
        remedies,
      };
    },
  },
  file: {
    minShare: 0.4,
    diagnose(part) {
      return {
        summary: `${percent(part.share)} of RSS is file-backed: binaries, libraries and mapped files`,
        evidence: part.members.slice(0, 3).map((member) => `${member.name}: ${formatBytes(member.bytes)}`),
        remedies: [
          'clean file pages are page cache shared with the file: the kernel drops them under memory pressure, and they are not a leak',
          'a mapped data file is resident as far as it was read: map less of it, or madvise(MADV_DONTNEED) what is done with',
        ],
      };
    },
  },
  'anon-other': {
    minShare: 0.3,
    diagnose(part, { pid, otherAllocator }) {
      if (otherAllocator !== null)
        return {
          summary: `${percent(part.share)} of RSS is anonymous memory, where ${otherAllocator}'s heap lives`,
          evidence: part.members.slice(0, 3).map((member) => `${member.name} at 0x${member.address ?? '?'}: ${formatBytes(member.bytes)}`),
          remedies: [
            `memtrace malloc -p ${pid} --allocator ${otherAllocator} shows which stacks hold its blocks`,
            `${otherAllocator}'s own statistics tell live from retained (jemalloc: malloc_stats_print, MALLOC_CONF=stats_print:true)`,
          ],
        };
      return {
        summary: `${percent(part.share)} of RSS is anonymous memory outside malloc's heaps`,
        evidence: part.members.slice(0, 3).map((member) => `${member.name} at 0x${member.address ?? '?'}: ${formatBytes(member.bytes)}`),
        remedies: [
          "direct mmap()s, another allocator, or a runtime's own heap (V8, Go, the JVM) live here",
          `memtrace faults -p ${pid} shows which stacks first touch these pages`,
        ],
      };
    },
  },
  stacks: {
    minShare: 0.2,
    diagnose(part, { threads }) {
      return {
        summary: `${percent(part.share)} of RSS is thread stacks (${threads} threads)`,
        evidence: [`${formatBytes(part.bytes)} resident in ${part.count} stacks`],
        remedies: [
          'fewer threads, or smaller stacks (pthread_attr_setstacksize, ulimit -s): a stack stays resident as deep as it once grew',
        ],
      };
    },
  },
};

/** The findings, the dominant one first; when no part stands out, the biggest one is still named. */
export function diagnose(parts: RssPart[], context: DiagnosisContext): Diagnosis[] {
  const findings: Diagnosis[] = [];
  for (const part of parts) {
    const rule = RULES[part.kind];
    if (rule === undefined || part.bytes < MIN_FINDING_BYTES || part.share < rule.minShare) continue;
    findings.push({ cause: part.kind, share: part.share, ...rule.diagnose(part, context) });
  }
  findings.sort((a, b) => b.share - a.share);
  if (findings.length === 0) {
    const biggest = [...parts].sort((a, b) => b.bytes - a.bytes)[0];
    if (biggest !== undefined && biggest.bytes > 0)
      findings.push({
        cause: biggest.kind,
        share: biggest.share,
        summary: `no part stands out; the biggest is ${biggest.kind}, ${percent(biggest.share)} of RSS`,
        evidence: [`${formatBytes(biggest.bytes)} in ${biggest.count} member${biggest.count === 1 ? '' : 's'}`],
        remedies: [],
      });
  }
  return findings;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
