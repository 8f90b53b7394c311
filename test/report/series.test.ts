// The renderers of a process series, on real logs (pymemtrace's and memtrace's own).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvParse, tsvParse } from 'd3-dsv';
import test from 'ava';
import { readProcessLog } from '../../src/parse/process-log.js';
import { renderSeries, seriesFormatFromPath } from '../../src/report/series-index.js';
import { niceByteStep, niceSecondStep, renderSeriesSvg, thinToPixelColumns } from '../../src/report/series-svg.js';
import { SeriesBuilder } from '../../src/model/series.js';
import { renderSeriesGnuplot } from '../../src/report/series-gnuplot.js';
import { writeSeriesReports } from '../../src/tools/process/write-reports.js';
import { CHROMIUM_NEED, loadInChromium } from '../helpers/chromium.js';
import { needing, program } from '../helpers/needs.js';
import { fixture } from '../helpers/workloads.js';

const linux = () => readProcessLog(fixture('process/pymemtrace-linux.log'), { lenient: false });
const node = () => readProcessLog(fixture('process/node-rss-steps.jsonl'), { lenient: false });

test('table: every sample of a short log with ΔRSS and its label; the peak marked', async (t) => {
  const text = renderSeries(await linux(), 'table');
  const lines = text.split('\n');
  t.is(lines[0], 'memtrace process: PID 9007, from 2026-11-23T21:36:40.742 (a pymemtrace log)');
  t.is(lines[1], '10 samples every 251 ms over 2.23 s; 0 missed; 5 marks; stopped');
  t.is(lines[2], 'RSS: start 46.9 MiB, peak 143 MiB at 2.24 s, end 14.9 MiB (-32.0 MiB)');
  t.regex(text, /^1\.24 s {2}78\.9 MiB {2}\+32\.0 MiB {2}step 1: allocate 32 MiB$/m);
  t.regex(text, /^2\.24 s {3}143 MiB {2}\+32\.0 MiB {2}step 3: allocate 32 MiB \(peak\)$/m);
  t.regex(text, /^2\.74 s {2}14\.9 MiB {3}-128 MiB {2}free all$/m);
});

test('table of a memtrace log: heap column, the ending with the exit code', async (t) => {
  const text = renderSeries(await node(), 'table');
  t.regex(text, /the process exited \(code 0\)/);
  t.regex(text, /^V8 heap used: peak /m);
  t.regex(
    text.split('\n').find((line) => line.startsWith('Time'))!,
    /Time +RSS +ΔRSS +Heap used +Label/,
  );
});

test('table of a long series shows the rows that matter and says how many it left out', async (t) => {
  const series = await node();
  const long = {
    ...series,
    samples: Array.from({ length: 200 }, (_, index) => ({
      ...series.samples[1]!,
      elapsed: index * 0.25,
      rss: index === 120 ? 2 * series.samples[1]!.rss : series.samples[1]!.rss,
    })),
    marks: [],
  };
  const text = renderSeries(long, 'table');
  t.regex(text, /\(196 of 200 samples not shown: RSS moved less than 2% of the peak; the tsv report has them all\)/);
  t.regex(text, /^30\.0 s .* \(peak\)$/m);
});

test('tsv: one row per sample, every value in bytes, labels on the sample taken with the mark', async (t) => {
  const rows = tsvParse(renderSeries(await linux(), 'tsv'));
  t.deepEqual(rows.columns, ['t', 'elapsed', 'pid', 'rss', 'vsz', 'label']);
  t.is(rows.length, 10);
  t.is(rows[0]!.rss, '49201152');
  t.is(rows[2]!.label, 'step 1: allocate 32 MiB');
  t.is(rows.filter((row) => row.label !== '').length, 5);
  const tree = tsvParse(renderSeries(await readProcessLog(fixture('process/children-marks.jsonl'), { lenient: false }), 'tsv'));
  t.true(tree.columns.includes('totalRss') && tree.columns.includes('children'));
  t.true(
    tree.some((row) => row.label === 'halfway: 64 MiB held by the child; SIGUSR2' || row.label === 'halfway: 64 MiB held by the child'),
  );
});

test('csv: the rows and columns of the tsv, with commas', async (t) => {
  const series = await readProcessLog(fixture('process/children-marks.jsonl'), { lenient: false });
  const csv = csvParse(renderSeries(series, 'csv'));
  const tsv = tsvParse(renderSeries(series, 'tsv'));
  t.deepEqual(csv.columns, tsv.columns);
  t.deepEqual(
    csv.map((row) => ({ ...row })),
    tsv.map((row) => ({ ...row })),
  );
  t.is(seriesFormatFromPath('mem.csv'), 'csv');
});

test('svg: a line per value present, a dashed vertical and a label per mark, XML escaped, axes in binary units', async (t) => {
  const svg = renderSeriesSvg(await linux());
  t.is((svg.match(/<polyline class="series"/g) ?? []).length, 1, 'RSS only (vsz is off by default)');
  t.is((svg.match(/<line class="mark"/g) ?? []).length, 5);
  t.true(svg.includes('>step 3: allocate 32 MiB</text>'));
  t.regex(svg, />150 MiB<\/text>/);
  const withVsz = renderSeriesSvg(await linux(), { vsz: true });
  t.is((withVsz.match(/<polyline class="series"/g) ?? []).length, 2);
  const nodeSvg = renderSeriesSvg(await node());
  t.deepEqual(
    [...nodeSvg.matchAll(/data-name="([^"]+)"/g)].map((match) => match[1]),
    ['RSS', 'heap total', 'heap used', 'external'],
  );
  const hostile = { ...(await linux()), marks: [{ t: 'x', elapsed: 1, text: '<script>alert(1)</script> & "q"', source: 'cli' as const }] };
  const escaped = renderSeriesSvg(hostile);
  t.false(escaped.includes('<script>'));
  t.true(
    escaped.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;') ||
      escaped.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; "q"'),
  );
  const xmllint = spawnSync('xmllint', ['--noout', '-'], { input: escaped });
  if (xmllint.error === undefined) t.is(xmllint.status, 0, xmllint.stderr.toString());
});

test('svg of a cut log says so in red', async (t) => {
  const svg = renderSeriesSvg(await readProcessLog(fixture('process/cut.jsonl'), { lenient: true }));
  t.regex(svg, /fill="#c92a2a">[^<]*the log is cut: no stop record[^<]*1 unreadable lines skipped/);
});

test('html: one offline page with the plot, the table and the marks; no external resource', async (t) => {
  const html = renderSeries(await linux(), 'html');
  t.true(html.startsWith('<!DOCTYPE html>'));
  t.true(html.includes('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(html.includes('10 samples every 251 ms'));
  t.regex(html, /<li><b>2\.74 s<\/b> free all <small>\(log, 2026-11-23T21:36:43\.501549\)<\/small><\/li>/);
  t.false(/(src|href)="http/.test(html));
});

test("jsonl converts a pymemtrace log into memtrace's log, which reads back the same", async (t) => {
  const series = await linux();
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-series-'));
  const path = join(directory, 'converted.jsonl');
  await writeSeriesReports(series, [{ path, format: 'jsonl' }], {
    stdout: process.stdout,
    stderr: { write: () => true } as unknown as NodeJS.WritableStream,
  });
  const again = await readProcessLog(path, { lenient: false });
  t.deepEqual(again, series);
});

test('gnuplot: a .dat of columns and a .plt of the lines drawn', async (t) => {
  const series = await node();
  const { dat, plt } = renderSeriesGnuplot(series, '/x/mem.dat', '/x/mem-gnuplot.svg');
  const lines = dat.trim().split('\n');
  t.is(
    lines[1],
    '# elapsed\trss\theapUsed\theapTotal\texternal\tarrayBuffers   (seconds, then bytes; "?" where a sample has no such value)',
  );
  t.is(lines.length, 2 + series.samples.length);
  t.regex(lines[2]!, /^0\.\d+\t\d+\t\?\t\?\t\?\t\?$/);
  t.true(plt.includes("set output 'mem-gnuplot.svg'"));
  t.true(plt.includes('\'mem.dat\' using 1:($2/1048576) with lines linewidth 2 title "RSS"'));
});

needing([program('gnuplot')], test)('gnuplot: real gnuplot runs the .plt into an svg with the marks', async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-gnuplot-'));
  const linuxSeries = await linux();
  await writeSeriesReports(linuxSeries, [{ path: join(directory, 'mem.plt'), format: 'gnuplot' }], {
    stdout: process.stdout,
    stderr: { write: () => true } as unknown as NodeJS.WritableStream,
  });
  execFileSync('gnuplot', ['mem.plt'], { cwd: directory });
  const image = readFileSync(join(directory, 'mem-gnuplot.svg'), 'utf8');
  t.true(image.includes('step 3: allocate 32 MiB'));
  t.true(existsSync(join(directory, 'mem.dat')));
});

test('formats by extension, nice axis steps', (t) => {
  t.is(seriesFormatFromPath('a/mem.svg'), 'svg');
  t.is(seriesFormatFromPath('mem.PLT'), 'gnuplot');
  t.is(seriesFormatFromPath('mem.dat'), 'gnuplot');
  t.is(seriesFormatFromPath('mem.folded'), null);
  t.is(niceByteStep(30 * 1024 * 1024), 50 * 1024 * 1024);
  t.is(niceByteStep(3000), 5 * 1024);
  t.is(niceByteStep(900), 1000);
  t.is(niceSecondStep(0.3), 0.5);
  t.is(niceSecondStep(40), 60);
});

test('svg thinning: of the points in one pixel column, the first, the highest, the lowest and the last are kept, in order', (t) => {
  // given six points in column 0 (y grows downwards: 1 is the highest, 9 the lowest) and one in column 1
  const points = [
    [0.1, 5],
    [0.2, 6],
    [0.5, 1],
    [0.7, 9],
    [0.8, 7],
    [0.9, 4],
    [1.2, 3],
  ] as const;
  // then
  t.deepEqual(thinToPixelColumns(points), [
    [0.1, 5],
    [0.5, 1],
    [0.7, 9],
    [0.9, 4],
    [1.2, 3],
  ]);
  t.deepEqual(thinToPixelColumns([]), []);
});

test('table of a noisy series: at most 60 moves, the share of the peak doubled until they fit, and said', (t) => {
  // given 1,009 samples alternating 100 MiB and 110 MiB (every sample moves by 9% of the peak)
  const builder = new SeriesBuilder();
  builder.add({
    type: 'header',
    tool: 'process',
    version: 1,
    source: 'memtrace',
    target: { pid: 3 },
    interval: 1,
    host: 'h',
    platform: 'linux',
    start: '2026-01-01T00:00:00.000Z',
  });
  for (let index = 0; index < 1009; index += 1) {
    builder.add({
      type: 'sample',
      t: '2026-01-01T00:00:00.000Z',
      elapsed: index,
      pid: 3,
      rss: (index % 2 === 0 ? 100 : 110) * 1024 * 1024,
    });
  }
  // when
  const text = renderSeries(builder.build(), 'table');
  // then: 2%, 4% and 8% let every sample through; at 16% only the first, the peak and the last remain
  t.regex(text, /\(1006 of 1009 samples not shown: RSS moved less than 16% of the peak; the tsv report has them all\)/);
  t.is(text.split('\n').filter((line) => /MiB/.test(line) && /^\d/.test(line)).length, 3);
});

const chromiumTest = needing([CHROMIUM_NEED], test);
chromiumTest(`html in headless Chromium: no errors, the RSS line drawn through every sample`, async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-series-html-')), 'mem.html');
  writeFileSync(path, renderSeries(await linux(), 'html'));
  const page = await loadInChromium(
    path,
    `
    var line = document.querySelector('polyline.series');
    return { points: line.points.numberOfItems, marks: document.querySelectorAll('line.mark').length, width: Math.round(line.getBBox().width) > 0 };
  `,
  );
  t.deepEqual(page.errors, []);
  t.deepEqual(page.probe, { points: 10, marks: 5, width: true });
});
