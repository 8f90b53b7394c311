// Loads a page (HTML, or an SVG document) in headless Chromium (Debian's `chromium`) and returns the DOM after its scripts ran
// (--dump-dom), with what a probe script, run first in the page, recorded: every script error,
// console.error/warn and failed resource load, and whatever the test's own `afterLoad` code, run
// at the load event, reports. No DevTools protocol, no npm dependency. MEMTRACE_KEEP_PAGE=1 keeps
// the page as loaded (probe included) in its temporary directory, to look at by hand.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Need } from './needs.js';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path)) ?? null;

/** For needing(): the tests that load pages skip without Chromium, unless CI requires everything. */
export const CHROMIUM_NEED: Need = { what: 'chromium', present: CHROMIUM !== null, install: { debianPackage: 'chromium' } };

export interface PageResult {
  /** Script errors, console.error/warn messages and failed loads, in order. */
  errors: string[];
  /** What afterLoad returned, as JSON. */
  probe: unknown;
  dom: string;
}

/**
 * `afterLoad` is the body of a function run at the load event, returning something JSON-able
 * (it may throw: that is recorded as an error).
 */
export async function loadInChromium(htmlPath: string, afterLoad: string): Promise<PageResult> {
  if (CHROMIUM === null) throw new Error('chromium is not installed (apt-get install chromium)');
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-chromium-'));
  try {
    const probe = `(function () {
  var errors = [];
  function note(text) { errors.push(String(text)); show(); }
  function show() {
    var out = document.getElementById('memtrace-test-errors');
    if (!out && document.documentElement) { out = element('memtrace-test-errors'); }
    if (out) out.textContent = JSON.stringify(errors);
  }
  // An XHTML <pre> at the end of the document, <body> or, in an SVG document, the root.
  function element(id) {
    var out = document.createElementNS('http://www.w3.org/1999/xhtml', 'pre');
    out.id = id;
    (document.body || document.documentElement).appendChild(out);
    return out;
  }
  window.addEventListener('error', function (event) {
    var target = event.target;
    if (target && target !== window && (target.src || target.href)) note('failed to load ' + (target.src || target.href));
    else note('script error: ' + event.message + ' at ' + event.filename + ':' + event.lineno);
  }, true);
  window.addEventListener('unhandledrejection', function (event) { note('unhandled rejection: ' + event.reason); });
  ['error', 'warn'].forEach(function (level) {
    var original = console[level];
    console[level] = function () { note('console.' + level + ': ' + Array.prototype.join.call(arguments, ' ')); return original.apply(console, arguments); };
  });
  window.addEventListener('load', function () {
    var result;
    try { result = (function () { ${afterLoad} })(); } catch (error) { note('afterLoad threw: ' + error.message); }
    var out = element('memtrace-test-probe');
    out.textContent = JSON.stringify(result === undefined ? null : result);
    show();
  });
})();`;
    const svg = htmlPath.endsWith('.svg');
    // First in the document, so that it sees the page's own scripts fail.
    const page = svg
      ? readFileSync(htmlPath, 'utf8').replace(
          /<svg [^>]*>/,
          (root) => `${root}\n<script type="text/ecmascript"><![CDATA[${probe}]]></script>`,
        )
      : readFileSync(htmlPath, 'utf8').replace(/<head>/i, (head) => `${head}\n<script>${probe}</script>`);
    const pagePath = join(directory, svg ? 'page.svg' : 'page.html');
    writeFileSync(pagePath, page);
    const args = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(directory, 'profile')}`,
      '--dump-dom',
      pathToFileURL(pagePath).href,
    ];
    const dom = await new Promise<string>((resolve, reject) => {
      execFile(CHROMIUM!, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`chromium failed: ${error.message}\n${stderr.slice(-2000)}`)) : resolve(stdout),
      );
    });
    const field = (id: string) => {
      const match = new RegExp(`<pre[^>]* id="${id}"[^>]*>([^<]*)</pre>`).exec(dom);
      return match === null ? null : JSON.parse(unescapeHtml(match[1]!));
    };
    const probeResult = field('memtrace-test-probe');
    const errors = (field('memtrace-test-errors') as string[] | null) ?? [];
    if (probeResult === null && !dom.includes(' id="memtrace-test-probe"')) errors.push('the load event never ran the probe');
    return { errors, probe: probeResult, dom };
  } finally {
    if (process.env.MEMTRACE_KEEP_PAGE !== '1') rmSync(directory, { recursive: true, force: true });
  }
}

function unescapeHtml(text: string): string {
  return text.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[name]!);
}
