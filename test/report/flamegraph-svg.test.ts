import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { mallocStackProfile } from '../../src/model/malloc-profile.js';
import { renderFlamegraphSvg } from '../../src/report/flamegraph-svg.js';
import { CHROMIUM_NEED, loadInChromium } from '../helpers/chromium.js';
import { needing } from '../helpers/needs.js';
import { sampleProfile } from '../helpers/profiles.js';

/** A strict enough XML check for our own output: every tag closes in order, entities are known. */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<\?xml[^>]*\?>/, '');
  const stack: string[] = [];
  for (const match of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      stack.push(name!);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
  for (const entity of body.matchAll(/&([a-z]+);/g))
    if (!['lt', 'gt', 'amp', 'quot', 'apos'].includes(entity[1]!)) throw new Error(`entity &${entity[1]};`);
  if (/<(?![\/a-zA-Z!?])/.test(body)) throw new Error('raw < in text');
}

test('well-formed, names escaped, widths proportional to bytes', (t) => {
  const svg = renderFlamegraphSvg(mallocStackProfile(sampleProfile()), { title: 'malloc: bytes' });
  t.notThrows(() => assertWellFormed(svg));
  t.true(svg.includes('data-name="load&lt;std::vector&lt;int&gt;&amp;&gt;"'));
  const width = (name: string) => Number(new RegExp(`data-w="([0-9.e-]+)" data-depth="\\d+" data-name="${name}"`).exec(svg)![1]);
  t.is(width('main'), 1);
  t.is(width('load&lt;std::vector&lt;int&gt;&amp;&gt;'), 94208 / (94208 + 168));
  t.regex(svg, /Total: 92\.2 KiB/);
  t.regex(svg, /<script type="text\/ecmascript"><!\[CDATA\[/);
});

test('frames under 0.1% are not drawn, but count in their parent', (t) => {
  const profile = {
    valueTypes: [{ name: 'n', unit: 'count' as const }],
    defaultValue: 'n',
    samples: [
      { frames: [{ name: 'root' }, { name: 'big' }], values: { n: 9999 } },
      { frames: [{ name: 'root' }, { name: 'tiny' }], values: { n: 1 } },
    ],
  };
  const svg = renderFlamegraphSvg(profile);
  t.true(svg.includes('data-name="big"'));
  t.false(svg.includes('data-name="tiny"'));
  t.regex(svg, /data-w="1" data-depth="1" data-name="root"/);
});

test('an empty profile is a valid SVG that says so', (t) => {
  const svg = renderFlamegraphSvg({ valueTypes: [], defaultValue: 'n', samples: [] });
  t.notThrows(() => assertWellFormed(svg));
  t.true(svg.includes('no samples'));
});

const chromiumTest = needing([CHROMIUM_NEED], test);
chromiumTest(`the .svg file alone in headless Chromium: its script runs, a click zooms`, async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-svg-')), 'flame.svg');
  writeFileSync(path, renderFlamegraphSvg(mallocStackProfile(sampleProfile()), { title: 'malloc: bytes' }));
  const page = await loadInChromium(
    path,
    `
    var load = document.querySelector('g.frame[data-depth="2"]');
    load.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    return { name: load.getAttribute('data-name'), width: load.querySelector('rect').getAttribute('width'), reset: document.querySelector('.reset').getAttribute('visibility') };
  `,
  );
  t.deepEqual(page.errors, []);
  t.deepEqual(page.probe, { name: 'load<std::vector<int>&>', width: '1180.00', reset: 'visible' });
});
