// explain's table, json and html from a model built of a recorded process (test/fixtures/explain/),
// its diagnosis, and a mapping whose path is hostile markup.
import test from 'ava';
import { PART_LABELS, type RssExplanation } from '../../src/model/rss-explanation.js';
import { EXPLAIN_REPORTS } from '../../src/report/explain-index.js';
import { explanation } from '../helpers/explain-model.js';

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
