// An RssExplanation built from the recorded explain-parts process (test/fixtures/explain/), with a
// claimed main arena, for the report tests; `path` replaces the mapped file's name (hostile names).
import { readFileSync } from 'node:fs';
import type { RssExplanation, RssPart } from '../../src/model/rss-explanation.js';
import { parseProcSmaps } from '../../src/symbols/proc-smaps.js';
import { classifyMappings } from '../../src/tools/explain/classify.js';
import { diagnose } from '../../src/tools/explain/diagnose.js';
import { fixture } from './workloads.js';

const MiB = 1024 * 1024;

export function explanation(path = '/tmp/exd/mapped.bin'): RssExplanation {
  const smaps = readFileSync(fixture('explain/explain-parts.smaps'), 'utf8').replaceAll('/tmp/exd/mapped.bin', path);
  const mappings = parseProcSmaps(smaps, 'explain-parts.smaps');
  const heap = mappings.find((mapping) => mapping.path === '[heap]')!;
  const classified = classifyMappings(mappings, [], {
    claims: [
      {
        start: heap.start,
        end: heap.end,
        kind: 'malloc-live',
        name: 'main arena',
        residentBytes: 30 * MiB,
        rest: { kind: 'malloc-retained', name: 'main arena' },
      },
    ],
  });
  const parts: RssPart[] = classified.parts.map((part) => ({
    ...part,
    share: part.bytes / classified.rssBytes,
    accuracy: 'exact',
    how: 'from the fixture',
  }));
  const arenas = [
    {
      address: '5555',
      main: true,
      systemBytes: heap.rss,
      residentBytes: heap.rss,
      liveBytes: 30 * MiB,
      liveResidentBytes: 30 * MiB,
      freeBytes: heap.rss - 30 * MiB,
      freeResidentBytes: heap.rss - 30 * MiB,
      topBytes: 4096,
      topResidentBytes: 4096,
    },
  ];
  const allocator = {
    name: 'glibc' as const,
    version: '2.36',
    arenas,
    mmapped: { count: 0, bytes: 0, residentBytes: 0 },
    partial: null,
    notes: [],
    elapsedMs: 5,
  };
  return {
    tool: 'explain',
    pid: 8680,
    command: '/tmp/explain-parts /tmp/exd/mapped.bin',
    takenAt: '2026-12-06T14:03:46.830Z',
    rssBytes: classified.rssBytes,
    kernelRssBytes: classified.rssBytes,
    parts,
    allocator,
    allocatorNote: null,
    threads: { count: 3, stacksFound: classified.stacksFound },
    diagnosis: diagnose(parts, { pid: 8680, allocator, allocatorNote: null, threads: 3, otherAllocator: null }),
    notes: ['a note that must be shown'],
  };
}
