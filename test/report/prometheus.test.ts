import { execFileSync } from 'node:child_process';
import test from 'ava';
import { escapeLabelValue, renderPrometheus, type ExpositionState } from '../../src/report/prometheus.js';
import { needing, program } from '../helpers/needs.js';

const STATE: ExpositionState = {
  pid: 4242,
  name: 'node',
  up: true,
  samples: 12,
  missed: 1,
  marks: 2,
  latest: {
    t: '2026-11-24T03:00:01.000Z',
    elapsed: 1.5,
    pid: 4242,
    rss: 49201152,
    vsz: 128937984,
    heapUsed: 3313864,
    heapTotal: 4694016,
    external: 1000,
    arrayBuffers: 10475,
    children: [{ pid: 4250, ppid: 4242, name: 'sh "quoted"\\x', rss: 4096, vsz: 8192 }],
    totalRss: 49205248,
    totalVsz: 128946176,
  },
};

test('every value of the latest sample, with HELP and TYPE, children labelled apart', (t) => {
  const text = renderPrometheus(STATE);
  t.true(text.endsWith('\n'));
  t.true(text.includes('# TYPE memtrace_process_resident_memory_bytes gauge\n'));
  t.true(text.includes('memtrace_process_resident_memory_bytes{pid="4242",name="node",role="target"} 49201152\n'));
  t.true(text.includes('memtrace_process_resident_memory_bytes{pid="4250",name="sh \\"quoted\\"\\\\x",role="child"} 4096\n'));
  t.true(text.includes('memtrace_process_heap_used_bytes{pid="4242",name="node",role="target"} 3313864\n'));
  t.true(text.includes('memtrace_process_tree_resident_memory_bytes{pid="4242",name="node"} 49205248\n'));
  t.true(text.includes('# TYPE memtrace_samples_total counter\nmemtrace_samples_total{pid="4242",name="node"} 12\n'));
  t.true(text.includes('memtrace_missed_samples_total{pid="4242",name="node"} 1\n'));
  t.true(text.includes('memtrace_target_up{pid="4242",name="node"} 1\n'));
});

test('before the first sample: only the counters and up; no heap lines for a non-Node target', (t) => {
  const text = renderPrometheus({ ...STATE, latest: null, samples: 0 });
  t.false(text.includes('resident_memory_bytes'));
  t.true(text.includes('memtrace_samples_total{pid="4242",name="node"} 0\n'));
  const plain = renderPrometheus({ ...STATE, latest: { t: STATE.latest!.t, elapsed: 1, pid: 4242, rss: 4096, vsz: 8192 } });
  t.false(plain.includes('heap'));
});

test('label values escape backslash, quote and newline', (t) => {
  t.is(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
});

const promtoolTest = needing([program('promtool', 'prometheus')], test);

promtoolTest(`Prometheus's own promtool accepts the exposition`, (t) => {
  for (const state of [STATE, { ...STATE, latest: null }]) {
    const output = execFileSync('promtool', ['check', 'metrics'], { input: renderPrometheus(state), encoding: 'utf8' });
    t.is(output.trim(), '');
  }
});
