// Splits a process's resident memory into parts, mapping by mapping: every resident byte of
// /proc/PID/smaps lands in exactly one part, so the parts add up to the RSS by construction.
//
// A mapping is, in this order of checks:
//   - claimed, wholly or in part, by a walk of an allocator's or a runtime's state (ResidentClaim):
//     an arena's heap is split into live (resident bytes of chunks in use) and retained (the rest of
//     its Rss); a block the allocator mmapped on its own is live; a pymalloc arena is pymalloc;
//   - glibc's [heap] when the allocator could not be read: "malloc-unsplit", whole;
//   - file-backed (a path that is not a [pseudo-path]): file;
//   - a stack: [stack], a mapping holding a thread's stack pointer, or glibc's thread-stack shape
//     (an anonymous mapping right above a one-page-to-64-KiB PROT_NONE guard);
//   - anything else: other anonymous memory.
import type { RssPart, RssPartKind, RssPartMember } from '../../model/rss-explanation.js';
import { PART_ORDER } from '../../model/rss-explanation.js';
import type { SmapsMapping } from '../../symbols/proc-smaps.js';
import type { ThreadStackPointer } from '../../sample/thread-stacks.js';
import { formatBytes } from '../../report/units.js';

/**
 * Resident bytes inside a range that belong to a part, as a walk of an allocator's or a runtime's own
 * state found them: the live chunks of an arena's heap, a pymalloc arena. A mapping's claims are
 * taken from its Rss first (capped at what is left of it: the walk reads page residency a moment
 * after smaps, and a process that grew in between must not make the parts exceed the RSS); the rest
 * of the mapping goes to `rest` when the claim names one, or to the mapping's own kind.
 */
export interface ResidentClaim {
  start: bigint;
  end: bigint;
  kind: RssPartKind;
  /** The member the bytes are counted under ("main arena ([heap])", "pymalloc arenas"). */
  name: string;
  /** Resident bytes of the range that belong to `kind`. */
  residentBytes: number;
  /** Where the rest of a mapping holding this claim goes (an arena's heap: retained). */
  rest?: { kind: RssPartKind; name: string };
}

/** Where the allocator's memory is, from the walk of its state: claims on its heaps and its mmapped blocks. */
export interface MallocLayout {
  claims: ResidentClaim[];
}

/** The largest PROT_NONE guard below a glibc thread stack that the shape test accepts. */
const MAX_GUARD_BYTES = 64n * 1024n;
/** Members kept a part, biggest first. */
const MEMBERS_KEPT = 10;

export interface Classification {
  parts: Omit<RssPart, 'share' | 'accuracy' | 'how'>[];
  rssBytes: number;
  stacksFound: number;
}

export function classifyMappings(
  mappings: SmapsMapping[],
  threads: ThreadStackPointer[],
  malloc: MallocLayout | null,
  extraClaims: ResidentClaim[] = [],
): Classification {
  const members = new Map<RssPartKind, Map<string, RssPartMember & { mappings: number }>>();
  const add = (kind: RssPartKind, key: string, member: RssPartMember): void => {
    if (member.bytes <= 0) return;
    let byKey = members.get(kind);
    if (byKey === undefined) members.set(kind, (byKey = new Map()));
    const existing = byKey.get(key);
    if (existing === undefined) byKey.set(key, { ...member, mappings: 1 });
    else {
      existing.bytes += member.bytes;
      existing.mappings += 1;
    }
  };
  const stackOwners = stackPointerOwners(mappings, threads);
  let rssBytes = 0;
  const claims = [...(malloc?.claims ?? []), ...extraClaims];
  for (let index = 0; index < mappings.length; index++) {
    let mapping = mappings[index]!;
    rssBytes += mapping.rss;
    const address = mapping.start.toString(16);
    const claimed = claims.filter((claim) => claim.start < mapping.end && claim.end > mapping.start);
    if (claimed.length > 0) {
      let left = mapping.rss;
      for (const claim of claimed) {
        const bytes = Math.min(left, claim.residentBytes);
        add(claim.kind, claim.name, { name: claim.name, bytes, address });
        left -= bytes;
      }
      const rest = claimed.find((claim) => claim.rest !== undefined)?.rest;
      if (rest !== undefined) {
        add(rest.kind, rest.name, { name: rest.name, bytes: left, address });
        continue;
      }
      if (left === 0) continue;
      mapping = { ...mapping, rss: left };
    }
    if (mapping.path === '[heap]') {
      add('malloc-unsplit', '[heap]', { name: '[heap]', bytes: mapping.rss, address });
      continue;
    }
    if (isFileBacked(mapping)) {
      const name = mapping.deleted ? `${mapping.path} (deleted)` : mapping.path;
      add('file', name, { name, bytes: mapping.rss, ...(mapping.perms[3] === 's' ? { detail: 'shared' } : {}) });
      continue;
    }
    const owner = stackOwners.get(index);
    if (mapping.path === '[stack]' || owner !== undefined || isGuardedStack(mappings, index)) {
      const name = mapping.path === '[stack]' ? '[stack] (main thread)' : owner !== undefined ? `thread ${owner}` : 'thread (running)';
      add('stacks', `${name} ${address}`, { name, bytes: mapping.rss, address });
      continue;
    }
    const name = mapping.path === '' ? 'anonymous' : mapping.path;
    add('anon-other', `${name} ${address}`, {
      name,
      bytes: mapping.rss,
      address,
      detail: `${mapping.perms}, ${formatBytes(Number(mapping.end - mapping.start))} mapped`,
    });
  }
  // Always the parts every process has; the allocator's two when it was read, its one when it was not.
  const shown = (kind: RssPartKind): boolean =>
    members.has(kind) ||
    kind === 'file' ||
    kind === 'stacks' ||
    kind === 'anon-other' ||
    (malloc !== null && (kind === 'malloc-live' || kind === 'malloc-retained'));
  const parts = PART_ORDER.filter(shown).map((kind) => {
    const all = [...(members.get(kind)?.values() ?? [])].sort((a, b) => b.bytes - a.bytes);
    return {
      kind,
      bytes: all.reduce((sum, member) => sum + member.bytes, 0),
      count: all.length,
      members: all.slice(0, MEMBERS_KEPT).map(({ mappings: _mappings, ...member }) => member),
    };
  });
  const stacksFound = members.get('stacks')?.size ?? 0;
  return { parts, rssBytes, stacksFound };
}

/** A path the kernel did not make up: [heap], [stack], [vdso], [anon:NAME] and "" are not files. */
function isFileBacked(mapping: SmapsMapping): boolean {
  return mapping.path !== '' && !mapping.path.startsWith('[');
}

/** For each mapping holding some thread's stack pointer, that thread ("NAME TID"). */
function stackPointerOwners(mappings: SmapsMapping[], threads: ThreadStackPointer[]): Map<number, string> {
  const owners = new Map<number, string>();
  for (const thread of threads) {
    if (thread.sp === null) continue;
    const index = mappings.findIndex((mapping) => mapping.start <= thread.sp! && thread.sp! < mapping.end);
    if (index >= 0 && !owners.has(index)) owners.set(index, `${thread.name} ${thread.tid}`);
  }
  return owners;
}

/** glibc's thread stack: anonymous, writable, right above a small PROT_NONE guard of its own. */
function isGuardedStack(mappings: SmapsMapping[], index: number): boolean {
  const mapping = mappings[index]!;
  const below = mappings[index - 1];
  return (
    below !== undefined &&
    mapping.path === '' &&
    mapping.perms.startsWith('rw') &&
    below.path === '' &&
    below.perms.startsWith('---') &&
    below.end === mapping.start &&
    below.end - below.start <= MAX_GUARD_BYTES
  );
}
