// explain's table, json and html from a model built of a recorded process (test/fixtures/explain/),
// its diagnosis, and a mapping whose path is hostile markup.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { PART_LABELS, type RssExplanation, type RssPart } from '../../src/model/rss-explanation.js';
import { EXPLAIN_REPORTS } from '../../src/report/explain-index.js';
import { parseProcSmaps } from '../../src/symbols/proc-smaps.js';
import { classifyMappings } from '../../src/tools/explain/classify.js';
import { diagnose } from '../../src/tools/explain/diagnose.js';
import { fixture } from '../helpers/workloads.js';

const MiB = 1024 * 1024;

function explanation(path = '/tmp/exd/mapped.bin'): RssExplanation {
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

test('the diagnosis names the retained memory first, with the remedies for one arena', (t) => {
  const { diagnosis } = explanation();
  t.is(diagnosis[0]!.cause, 'malloc-retained');
  t.regex(diagnosis[0]!.summary, /^2\d% of RSS is freed memory that glibc retains, in 1 arena$/);
  t.false(
    diagnosis[0]!.remedies.some((remedy) => remedy.includes('MALLOC_ARENA_MAX')),
    'one arena: no arena limit to try',
  );
  t.true(diagnosis[0]!.remedies.some((remedy) => remedy.startsWith('malloc_trim(0)')));
  t.false(
    diagnosis.some((finding) => finding.cause === 'malloc-live'),
    'live blocks at 27% of RSS stay under the 30% from which they are named',
  );
});

test('table: every part with its share, the members, the arenas, the diagnosis and the notes', (t) => {
  const model = explanation();
  const table = EXPLAIN_REPORTS.render(model, 'table', {}) as string;
  for (const part of model.parts)
    t.regex(table, new RegExp(`^${PART_LABELS[part.kind].replace(/[()]/g, '\\$&')} +[\\d.]+ [KM]iB +[\\d.]+%`, 'm'));
  t.regex(table, /^ +16\.0 MiB {2}\/tmp\/exd\/mapped\.bin$/m);
  t.regex(table, /^Allocator: glibc 2\.36, 1 arena$/m);
  t.regex(table, /^- 2\d% of RSS is freed memory that glibc retains/m);
  t.regex(table, /^- a note that must be shown$/m);
});

test('json: the contract fields; html: a mapping path of markup is escaped', (t) => {
  const json = JSON.parse(EXPLAIN_REPORTS.render(explanation(), 'json', {}) as string) as RssExplanation;
  t.true(Number.isInteger(json.rssBytes));
  t.true(json.parts.every((part) => typeof part.kind === 'string' && Number.isInteger(part.bytes)));
  t.true(Array.isArray(json.diagnosis) && json.diagnosis.length > 0);
  const html = EXPLAIN_REPORTS.render(explanation('/tmp/<script>alert(1)</script>.bin'), 'html', {}) as string;
  t.false(html.includes('<script>'));
  t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;.bin'));
  t.regex(html, /<svg[^>]*role="img">/);
});
