// trace-malloc's reports of a recorded V8 heap profile: the speedscope file and the HTML page carry
// the same stacks and totals as the model.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { reduceHeapProfile, type JsHeapReport, type V8HeapProfile } from '../../src/model/js-heap-profile.js';
import { isOwnFrame } from '../../src/node/trace-malloc.js';
import { renderJsHeapReport } from '../../src/report/js-heap-index.js';
import { fixture } from '../helpers/workloads.js';

function recorded(): { report: JsHeapReport; profile: V8HeapProfile } {
  const profile = JSON.parse(readFileSync(fixture('v8/hold-arrays.heapprofile'), 'utf8')) as V8HeapProfile;
  const reduced = reduceHeapProfile(profile, { groupBy: 'line', samplingInterval: 32768, isOwnFrame });
  const report: JsHeapReport = {
    header: {
      tool: 'trace-malloc',
      target: { pid: 4242, command: ['node', 'hold-arrays.js'] },
      start: '2026-11-23T10:00:00.000Z',
      host: 'test',
      node: 'v20.19.0',
      durationSeconds: 1.5,
      samplingInterval: 32768,
      mode: 'allocated',
      groupBy: 'line',
    },
    ...reduced,
    overhead: { ...reduced.overhead, how: 'test' },
  };
  return { report, profile };
}

test("speedscope: a bytes profile and a samples profile, totals equal to the report's", (t) => {
  const { report, profile } = recorded();
  const file = JSON.parse(renderJsHeapReport(report, profile, 'speedscope', { top: 5 }) as string) as {
    profiles: Array<{ name: string; unit: string; weights: number[]; endValue: number }>;
    shared: { frames: Array<{ name: string }> };
  };
  t.deepEqual(
    file.profiles.map((entry) => [entry.name, entry.unit]),
    [
      ['trace-malloc: JavaScript bytes allocated, by stack: bytes', 'bytes'],
      ['trace-malloc: JavaScript bytes allocated, by stack: count', 'none'],
    ],
  );
  t.is(file.profiles[0]!.endValue, report.totals.bytes);
  t.is(
    file.profiles[1]!.weights.reduce((sum, weight) => sum + weight, 0),
    report.totals.count,
  );
  t.true(file.shared.frames.some((frame) => frame.name.startsWith('holdSixtyFourMiB')));
});

test('html: the flame graph of the JavaScript bytes and the table', (t) => {
  const { report, profile } = recorded();
  const html = renderJsHeapReport(report, profile, 'html', { top: 5 }) as string;
  t.is(html.match(/<svg [^>]*class="flamegraph"/g)?.length, 1);
  t.regex(html, /<title>trace-malloc: JavaScript bytes allocated, by stack<\/title>/);
  t.regex(html, /<p>node hold-arrays\.js; one sample per 32768 B<\/p>/);
  t.regex(html, /data-name="holdSixtyFourMiB/);
  t.regex(html, /<pre>[^]*holdSixtyFourMiB[^]*<\/pre>/);
});
