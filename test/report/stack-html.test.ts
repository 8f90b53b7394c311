// The HTML report of a stack profile: one self-contained page (nothing fetched), checked as text and
// in headless Chromium (Debian's chromium): it loads without script or console errors, the flame
// graph shows the workload's function names, and clicking a frame zooms that graph and no other.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { renderMalloc } from '../../src/report/index.js';
import { renderStackProfile } from '../../src/report/stack-index.js';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { readFolded } from '../../src/parse/folded.js';
import { CHROMIUM_NEED, loadInChromium } from '../helpers/chromium.js';
import { needing } from '../helpers/needs.js';
import { fixture } from '../helpers/workloads.js';

const recorded = () => readMallocLog(fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'), { lenient: false });
const directory = mkdtempSync(join(tmpdir(), 'memtrace-html-'));

/** Every reference a page could fetch from: attributes naming a resource, CSS imports and urls. */
function externalReferences(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href|xlink:href|action|poster)\s*=\s*"[^"]*"|@import|url\(/gi)].map((match) => match[0]);
}

test('malloc: one page with both byte flame graphs and the summary table, nothing to fetch', async (t) => {
  const html = renderMalloc(await recorded(), 'html') as string;
  t.deepEqual(externalReferences(html), []);
  t.is(html.match(/<svg [^>]*class="flamegraph"/g)?.length, 2);
  t.regex(html, /<h2>malloc: bytes allocated, by stack<\/h2>\n<svg /);
  t.regex(html, /<h2>malloc: bytes outstanding at the end, by stack<\/h2>\n<svg /);
  t.false(html.includes('<?xml'), 'the SVGs are inlined as elements, not documents');
  t.regex(html, /Total: 106 allocations \(154 KiB\), 80 frees, 2 failed; 26 outstanding \(67\.8 KiB\)/);
});

test('--value comes first and is not drawn twice', async (t) => {
  const html = renderMalloc(await recorded(), 'html', { value: 'outstandingBytes' }) as string;
  t.deepEqual(
    [...html.matchAll(/<h2>(malloc: [^<]*)<\/h2>/g)].map((match) => match[1]),
    ['malloc: bytes outstanding at the end, by stack', 'malloc: bytes allocated, by stack'],
  );
});

test('a cut trace and skipped lines are said under the title; names from the trace are escaped', async (t) => {
  const cut = renderMalloc(
    await readMallocLog(fixture('bpftrace/debian12-0.17/malloc-known-allocs-truncated.text.txt'), { lenient: false }),
    'html',
  ) as string;
  t.regex(cut, /<\/h1>\n<p>PARTIAL: .*malloc-known-allocs-truncated\.text\.txt ends [^<]*<\/p>\n<h2>/);
  const garbled = renderMalloc(
    await readMallocLog(fixture('bpftrace/debian12-0.17/malloc-known-allocs-garbled.text.txt'), { lenient: true }),
    'html',
  ) as string;
  t.regex(garbled, /<p>1 malformed lines skipped \(--lenient\)<\/p>/);
  const hostile = renderStackProfile(
    {
      valueTypes: [{ name: 'n', unit: 'count' }],
      defaultValue: 'n',
      samples: [{ frames: [{ name: '</script><script>alert(1)</script>' }], values: { n: 1 } }],
    },
    'html',
    { title: '<b>x</b>', top: 5 },
  ) as string;
  t.false(hostile.includes('<script>alert'));
  t.false(hostile.includes('<b>x</b>'));
  t.true(hostile.includes('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
});

// Runs at the load event in the page: what a user would see and get by clicking make_pages.
const CLICK_MAKE_PAGES = `
  var graphs = document.querySelectorAll('svg.flamegraph');
  var first = graphs[0];
  var labels = Array.prototype.map.call(first.querySelectorAll('g.frame text'), function (text) { return text.textContent; }).filter(Boolean);
  var pages = first.querySelector('g.frame[data-name="make_pages"]');
  pages.dispatchEvent(new MouseEvent('click', { bubbles: true }));
  var small = first.querySelector('g.frame[data-name="make_small"]');
  return {
    graphs: graphs.length,
    labels: labels,
    zoomedWidth: pages.querySelector('rect').getAttribute('width'),
    reset: first.querySelector('.reset').getAttribute('visibility'),
    otherReset: graphs.length > 1 ? graphs[1].querySelector('.reset').getAttribute('visibility') : null,
    smallShown: small === null ? null : small.style.display !== 'none',
  };
`;

const chromiumTest = needing([CHROMIUM_NEED], test);
chromiumTest(`in headless Chromium: no errors, make_pages shown, a click zooms one graph`, async (t) => {
  const path = join(directory, 'malloc.html');
  writeFileSync(path, renderMalloc(await recorded(), 'html'));
  const page = await loadInChromium(path, CLICK_MAKE_PAGES);
  t.deepEqual(page.errors, []);
  const probe = page.probe as {
    graphs: number;
    labels: string[];
    zoomedWidth: string;
    reset: string;
    otherReset: string;
    smallShown: boolean;
  };
  t.is(probe.graphs, 2);
  for (const name of ['all', '__libc_start_call_main', 'main', 'make_pages', 'make_aligned', 'make_arrays'])
    t.true(probe.labels.includes(name), `${name} in ${probe.labels.join(', ')}`);
  // Zoomed, make_pages spans the whole chart (1200 px less two 10 px margins); its siblings are hidden.
  t.is(probe.zoomedWidth, '1180.00');
  t.is(probe.reset, 'visible');
  t.is(probe.smallShown, false);
  t.is(probe.otherReset, 'hidden', 'the second graph is not zoomed by a click in the first');
});

chromiumTest(`folded stacks as HTML in headless Chromium`, async (t) => {
  const folded = join(directory, 'known.folded');
  writeFileSync(folded, renderMalloc(await recorded(), 'folded'));
  const { profile } = await readFolded(folded, { lenient: false });
  const path = join(directory, 'folded.html');
  const html = renderStackProfile(profile, 'html', { title: 'folded stacks: known.folded', top: 10 }) as string;
  t.deepEqual(externalReferences(html), []);
  writeFileSync(path, html);
  const page = await loadInChromium(path, CLICK_MAKE_PAGES);
  t.deepEqual(page.errors, []);
  const probe = page.probe as { graphs: number; labels: string[]; zoomedWidth: string; otherReset: null };
  t.is(probe.graphs, 1);
  t.true(probe.labels.includes('make_pages'));
  t.is(probe.zoomedWidth, '1180.00');
  t.regex(page.dom, /Total: 157,716 samples in \d+ stacks/);
});

chromiumTest(`the probe sees errors: a page with a broken script fails`, async (t) => {
  // A check that cannot fail is no check: the same probe on a page that throws and fetches.
  const path = join(directory, 'broken.html');
  writeFileSync(
    path,
    '<!DOCTYPE html><html><head><title>x</title></head><body><img src="missing.png"><script>undefinedFunction();</script></body></html>',
  );
  const page = await loadInChromium(path, 'return 1;');
  t.is(page.errors.length, 2, page.errors.join('\n'));
  t.regex(page.errors.join('\n'), /failed to load file:.*missing\.png/);
  t.regex(page.errors.join('\n'), /script error: Uncaught ReferenceError: undefinedFunction is not defined/);
});

chromiumTest(`--timeline's page in headless Chromium: no errors; a click on the leak's line shows its stack`, async (t) => {
  const path = join(directory, 'growth.html');
  const profile = await readMallocLog(fixture('bpftrace/debian12-0.17/malloc-timeline-raw.ndjson'), { lenient: false });
  writeFileSync(path, renderMalloc(profile, 'html'));
  const page = await loadInChromium(
    path,
    `
    var lines = document.querySelectorAll('polyline[data-stack]');
    var leak = Array.prototype.find.call(lines, function (line) { return /^leak_steady /.test(line.getAttribute('data-name')); });
    var before = document.getElementById('memtrace-growth-stack').textContent;
    leak.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    return { lines: lines.length, before: before, after: document.getElementById('memtrace-growth-stack').textContent, width: leak.getAttribute('stroke-width') };
  `,
  );
  t.deepEqual(page.errors, []);
  const probe = page.probe as { lines: number; before: string; after: string; width: string };
  t.is(probe.lines, 4);
  t.is(probe.before, 'Click a line to see its stack.');
  t.regex(probe.after, /^leak_steady \(steady-growth\)\n {2}leak_steady \(growth-paths\)\n {2}main \(growth-paths\)/);
  t.is(probe.width, '4');
});
