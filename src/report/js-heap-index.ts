// Chooses the renderer of a trace-malloc report: by the output file's extension, or by --format.
import type { JsHeapReport, V8HeapProfile } from '../model/js-heap-profile.js';
import { renderFlamegraphSvg } from './flamegraph-svg.js';
import { renderFolded } from './folded.js';
import { renderJson } from './json.js';
import { renderJsHeapTable } from './js-heap-table.js';
import { renderPprof } from './pprof.js';
import { renderSpeedscope } from './speedscope.js';
import { renderStackHtml } from './stack-html.js';
import { STACK_FORMATS } from './stack-index.js';
import { extensionsOf, type ReportFamily } from './family.js';

export const JS_HEAP_FORMATS = ['table', 'json', 'folded', 'svg', 'heapprofile', 'pprof', 'speedscope', 'html'] as const;
export type JsHeapFormat = (typeof JS_HEAP_FORMATS)[number];

/** A stack report's extensions, then .heapprofile. */
export const JS_HEAP_EXTENSIONS: Record<string, JsHeapFormat> = extensionsOf([...STACK_FORMATS, 'heapprofile']);

function jsHeapTitle(report: JsHeapReport): string {
  return `trace-malloc: JavaScript bytes ${report.header.mode}, by stack`;
}

function jsHeapSubtitle(report: JsHeapReport): string {
  return `${report.header.target.command?.join(' ') ?? `PID ${report.header.target.pid}`}; one sample per ${report.header.samplingInterval} B${report.error ? `; ${report.error}` : ''}`;
}

export function renderJsHeapReport(
  report: JsHeapReport,
  profile: V8HeapProfile,
  format: JsHeapFormat,
  options: { top: number },
): string | Buffer {
  switch (format) {
    case 'table':
      return renderJsHeapTable(report, options);
    case 'json':
      // The stacks as plain rows: root-first frame names with their bytes and sample counts.
      return renderJson({
        ...report,
        stacks: report.stacks.samples.map((sample) => ({
          frames: sample.frames.map((frame) => frame.name),
          bytes: sample.values.bytes,
          count: sample.values.count,
        })),
      });
    case 'folded':
      return renderFolded(report.stacks);
    case 'svg':
      return renderFlamegraphSvg(report.stacks, { title: jsHeapTitle(report), subtitle: jsHeapSubtitle(report) });
    case 'speedscope':
      return renderSpeedscope(report.stacks, { name: jsHeapTitle(report) });
    case 'html':
      return renderStackHtml(report.stacks, {
        title: jsHeapTitle(report),
        notes: [jsHeapSubtitle(report)],
        graphs: [{ value: report.stacks.defaultValue, title: jsHeapTitle(report) }],
        summary: renderJsHeapTable(report, options),
      });
    case 'pprof':
      // count is samples, not objects (see AllocationSite.count), and is named so.
      return renderPprof(report.stacks, {
        typeNames: { bytes: report.header.mode === 'allocated' ? 'alloc_space' : 'inuse_space', count: 'samples' },
        start: new Date(report.header.start),
        durationSeconds: report.header.durationSeconds,
        comments: [`memtrace trace-malloc, one sample per ${report.header.samplingInterval} B`],
      });
    case 'heapprofile':
      // V8's own profile, as Chrome DevTools saves it: DevTools (Memory tab, Load) and speedscope open it.
      return JSON.stringify(profile);
  }
}

/** trace-malloc's reports: of the reduced report, and of V8's own profile (heapprofile). */
export const JS_HEAP_REPORTS: ReportFamily<{ report: JsHeapReport; profile: V8HeapProfile }, JsHeapFormat, { top: number }> = {
  formats: JS_HEAP_FORMATS,
  extensions: JS_HEAP_EXTENSIONS,
  render: ({ report, profile }, format, options) => renderJsHeapReport(report, profile, format, options),
};
