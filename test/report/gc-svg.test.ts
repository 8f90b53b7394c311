import test from 'ava';
import { renderGcSvg } from '../../src/report/gc-svg.js';
import { readGcLog } from '../../src/tools/gc/report-input.js';
import { fixture } from '../helpers/workloads.js';

test('one RSS line through every collection, a pause bar per pixel column and kind, a legend of the kinds present', async (t) => {
  const log = await readGcLog(fixture('bpftrace/debian12-0.17/gc-alloc-loop.text.txt'), { lenient: false });
  const svg = renderGcSvg(log);
  t.true(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.endsWith('</svg>\n'));
  const points = /<polyline class="rss" points="([^"]*)"/.exec(svg)![1]!.split(' ');
  t.true(points.length >= 2 && points.length <= 58);
  const bars = [...svg.matchAll(/<rect class="pause" data-kind="([a-z-]+)"/g)].map((match) => match[1]);
  t.is(bars.filter((kind) => kind === 'mark-compact').length, 1);
  t.true(bars.filter((kind) => kind === 'scavenge').length >= 1 && bars.filter((kind) => kind === 'scavenge').length <= 57);
  // The longest pause (69.36 ms) is listed in a bar's tooltip.
  t.true(svg.includes('69.356515 ms</title>'));
  t.true(svg.includes('>scavenge</text>') && svg.includes('>mark-compact</text>'));
  t.false(svg.includes('minor-mark-compact'));
});

test('a partial trace says so in red', async (t) => {
  const log = await readGcLog(fixture('bpftrace/debian12-0.17/gc-forced-23-truncated.text.txt'), { lenient: false });
  t.regex(renderGcSvg(log), /fill="#c92a2a">partial: the trace ends in the middle of a record/);
});
