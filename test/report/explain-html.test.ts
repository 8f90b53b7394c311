// explain's html report in headless Chromium: no errors, and the bar drawn as the parts say.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPLAIN_REPORTS } from '../../src/report/explain-index.js';
import { CHROMIUM_NEED, loadInChromium } from '../helpers/chromium.js';
import { explanation } from '../helpers/explain-model.js';
import { needing } from '../helpers/needs.js';

needing([CHROMIUM_NEED], test)('in headless Chromium: no errors; one segment a part, their widths the bar', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-explain-html-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  const model = explanation();
  const path = join(directory, 'rss.html');
  writeFileSync(path, EXPLAIN_REPORTS.render(model, 'html', {}));
  const page = await loadInChromium(
    path,
    `var rects = Array.prototype.filter.call(document.querySelectorAll('svg rect'), function (r) { return r.getAttribute('height') === '40'; });
     return { segments: rects.length, width: rects.reduce(function (sum, r) { return sum + r.getBBox().width; }, 0),
              titles: rects.map(function (r) { return r.querySelector('title').textContent; }),
              findings: document.querySelectorAll('h2:first-of-type + ul > li').length };`,
  );
  t.deepEqual(page.errors, []);
  const probe = page.probe as { segments: number; width: number; titles: string[]; findings: number };
  t.is(probe.segments, model.parts.filter((part) => part.bytes > 0).length);
  t.true(Math.abs(probe.width - 900) < 0.5, `the segments fill the bar: ${probe.width}`);
  t.regex(probe.titles[0]!, /^malloc, live: 30\.0 MiB$/);
  t.is(probe.findings, model.diagnosis.length);
});
