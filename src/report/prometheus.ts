// The Prometheus text exposition format (version 0.0.4) of a process's latest sample, for
// `memtrace process --prometheus ADDR`: what a Prometheus server scrapes from /metrics.
//
// Reference: Prometheus's "Exposition formats" document: `# HELP` and `# TYPE` lines, then
// `name{label="value"} number` lines; in label values backslash, double quote and newline are
// escaped as \\, \" and \n. Byte values carry the `_bytes` suffix, counters `_total`.
import type { SeriesSample, SeriesValueName } from '../model/series.js';
import { SERIES_VALUE_HELP } from '../model/series.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ExpositionState {
  pid: number;
  name: string;
  latest: SeriesSample | null;
  up: boolean;
  samples: number;
  missed: number;
  marks: number;
}

const GAUGES: Array<[SeriesValueName, string]> = [
  ['rss', 'memtrace_process_resident_memory_bytes'],
  ['vsz', 'memtrace_process_virtual_memory_bytes'],
  ['heapUsed', 'memtrace_process_heap_used_bytes'],
  ['heapTotal', 'memtrace_process_heap_total_bytes'],
  ['external', 'memtrace_process_external_memory_bytes'],
  ['arrayBuffers', 'memtrace_process_array_buffers_bytes'],
];

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(values: Record<string, string | number>): string {
  return `{${Object.entries(values)
    .map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`)
    .join(',')}}`;
}

export function renderPrometheus(state: ExpositionState): string {
  const lines: string[] = [];
  const target = { pid: state.pid, name: state.name };
  const metric = (name: string, type: 'gauge' | 'counter', help: string, rows: Array<[Record<string, string | number>, number]>): void => {
    if (rows.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [rowLabels, value] of rows) lines.push(`${name}${labels(rowLabels)} ${value}`);
  };
  metric('memtrace_target_up', 'gauge', 'Whether the sampled process is still running (1) or has gone (0).', [[target, state.up ? 1 : 0]]);
  const latest = state.latest;
  if (latest !== null) {
    for (const [value, name] of GAUGES) {
      const rows: Array<[Record<string, string | number>, number]> = [];
      const own = latest[value];
      if (typeof own === 'number') rows.push([{ ...target, role: 'target' }, own]);
      if (value === 'rss' || value === 'vsz') {
        for (const child of latest.children ?? []) {
          const childValue = child[value];
          if (typeof childValue === 'number') rows.push([{ pid: child.pid, name: child.name, role: 'child' }, childValue]);
        }
      }
      metric(name, 'gauge', `${capitalise(SERIES_VALUE_HELP[value])}, in bytes.`, rows);
    }
    if (typeof latest.totalRss === 'number') {
      metric(
        'memtrace_process_tree_resident_memory_bytes',
        'gauge',
        'Resident set size of the sampled process and all its descendants, in bytes.',
        [[target, latest.totalRss]],
      );
    }
    metric('memtrace_last_sample_elapsed_seconds', 'gauge', 'Seconds from the start of sampling to the latest sample.', [
      [target, latest.elapsed],
    ]);
  }
  metric('memtrace_samples_total', 'counter', 'Samples taken.', [[target, state.samples]]);
  metric('memtrace_missed_samples_total', 'counter', 'Ticks that could not be sampled in time.', [[target, state.missed]]);
  metric('memtrace_marks_total', 'counter', 'Labels added to the series.', [[target, state.marks]]);
  return `${lines.join('\n')}\n`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
