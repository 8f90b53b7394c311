// --timeline's plot: the outstanding bytes over time of the stacks that grew (steadiest first) and
// of the biggest of the others, one line a stack, for the malloc html report. Each line carries its
// stack's index (data-stack): the page's script selects the stack when a line is clicked.
import type { StackGrowth } from '../model/growth.js';
import type { MallocProfile } from '../model/malloc-profile.js';
import type { Frame } from '../model/stack-profile.js';
import type { Timeline } from '../model/timeline.js';
import type { Series, SeriesSample } from '../model/series.js';
import { escapeXml } from './flamegraph-svg.js';
import { niceSecondStep, openSvg, plotAxes, plotLegend, plotPolyline, plotScale, plotTitles, round } from './time-plot-svg.js';
import { formatDuration } from './units.js';

/** Lines drawn at most: the growers first, then the largest of the others. */
const MAX_LINES = 8;
const GROWING_COLORS = ['#c92a2a', '#e8590c', '#d6336c', '#f08c00'];
const OTHER_COLORS = ['#1f63b4', '#2f9e44', '#7048e8', '#0c8599', '#868e96'];

/** A stack as the plot and the page show it: its line and, when selected, its frames. */
export interface PlottedStack {
  label: string;
  kind: StackGrowth['kind'];
  frames: Frame[];
  color: string;
}

/** The stacks the plot draws, in the order of their lines. */
export function plottedStacks(profile: MallocProfile): Array<PlottedStack & { series: number[] }> {
  const timeline = profile.timeline!;
  const chosen = [...(profile.growth ?? []).slice(0, GROWING_COLORS.length), ...(profile.notGrowing ?? [])].slice(0, MAX_LINES);
  let growing = 0;
  let other = 0;
  return chosen.map((stack) => {
    const grows = stack.kind === 'steady-growth' || stack.kind === 'growth';
    const color = grows ? GROWING_COLORS[growing++ % GROWING_COLORS.length]! : OTHER_COLORS[other++ % OTHER_COLORS.length]!;
    return {
      label: `${leafName(stack.frames)} (${stack.kind})`,
      kind: stack.kind,
      frames: stack.frames,
      color,
      series: seriesOf(timeline, stack.frames),
    };
  });
}

export function renderGrowthSvg(profile: MallocProfile, options: { width?: number; height?: number } = {}): string {
  const timeline = profile.timeline!;
  const width = options.width ?? 1000;
  const height = options.height ?? 420;
  const stacks = plottedStacks(profile);
  const t1 = Math.max(timeline.times.at(-1) ?? 0, 1e-3);
  let maxBytes = 1;
  for (const stack of stacks) for (const bytes of stack.series) maxBytes = Math.max(maxBytes, bytes);
  const scale = plotScale(width, height, 0, t1, maxBytes, niceSecondStep);
  const out = openSvg(width, height);
  const subtitle = `${timeline.times.length} points ${formatDuration(timeline.intervalSeconds)} apart${timeline.downsampleFactor > 1 ? ` (thinned ${timeline.downsampleFactor}×)` : ''}; blocks allocated before the trace are not counted`;
  out.push(...plotTitles(width, 'Outstanding bytes by stack', subtitle, profile.growthNote ?? null));
  out.push(...plotAxes(scale, (value) => formatDuration(value), 'seconds since the trace began'));
  stacks.forEach((stack, index) => {
    const points = timeline.times.map((time, point) => [scale.x(time), scale.y(stack.series[point] ?? 0)] as [number, number]);
    out.push(
      plotPolyline({ name: stack.label, color: stack.color }, points).replace(
        '<polyline class="series"',
        `<polyline class="series" data-stack="${index}"`,
      ),
    );
  });
  out.push(
    ...plotLegend(
      height,
      scale.area.x,
      stacks.map((stack) => ({ name: stack.label, color: stack.color })),
    ),
  );
  if (stacks.length === 0) {
    out.push(
      `<text x="${round(scale.area.x + scale.area.width / 2)}" y="${round(scale.area.y + scale.area.height / 2)}" text-anchor="middle">${escapeXml('no stack allocated while traced')}</text>`,
    );
  }
  out.push('</svg>', '');
  return out.join('\n');
}

const COMPANION_LINES: Array<{ name: string; color: string; dash?: string; value: (sample: SeriesSample) => number | undefined }> = [
  { name: 'RSS', color: '#1f63b4', value: (sample) => sample.rss },
  { name: 'heap used', color: '#2f9e44', value: (sample) => sample.heapUsed },
  { name: 'external', color: '#e8590c', value: (sample) => sample.external },
];

/**
 * A memtrace process log of the same process beside the timeline (`memtrace report --with`): its
 * RSS (and V8 heap figures) and its marks on the timeline's own time axis, placed by the wall clock
 * (the timeline's startedAt against each sample's time); samples outside the trace are left out.
 */
export function renderCompanionSvg(profile: MallocProfile, series: Series, options: { width?: number; height?: number } = {}): string {
  const timeline = profile.timeline!;
  const width = options.width ?? 1000;
  const height = options.height ?? 320;
  const origin = Date.parse(timeline.startedAt!);
  const t1 = Math.max(timeline.times.at(-1) ?? 0, 1e-3);
  const at = (time: string) => (Date.parse(time) - origin) / 1000;
  const samples = series.samples.filter((sample) => at(sample.t) >= 0 && at(sample.t) <= t1);
  const lines = COMPANION_LINES.filter((line) => samples.some((sample) => typeof line.value(sample) === 'number'));
  let maxBytes = 1;
  for (const sample of samples) for (const line of lines) maxBytes = Math.max(maxBytes, line.value(sample) ?? 0);
  const scale = plotScale(width, height, 0, t1, maxBytes, niceSecondStep);
  const out = openSvg(width, height);
  const pid = series.header.target.pid;
  out.push(
    ...plotTitles(
      width,
      `Memory of PID ${pid}, from memtrace process`,
      `${samples.length} samples during the trace`,
      pid === profile.target.pid || profile.target.pid === null
        ? null
        : `the process log is of PID ${pid}, the trace of PID ${profile.target.pid}`,
    ),
  );
  out.push(...plotAxes(scale, (value) => formatDuration(value), 'seconds since the trace began'));
  for (const line of lines) {
    const points = samples.flatMap((sample) => {
      const value = line.value(sample);
      return typeof value === 'number' ? [[scale.x(at(sample.t)), scale.y(value)] as [number, number]] : [];
    });
    out.push(plotPolyline(line, points));
  }
  for (const mark of series.marks) {
    const x = at(mark.t);
    if (x < 0 || x > t1) continue;
    const px = round(scale.x(x));
    out.push(
      `<line x1="${px}" x2="${px}" y1="${scale.area.y}" y2="${scale.area.y + scale.area.height}" stroke="#868e96" stroke-dasharray="4 3"/>`,
    );
    out.push(`<text x="${px + 3}" y="${scale.area.y + 12}" fill="#495057">${escapeXml(mark.text)}</text>`);
  }
  out.push(...plotLegend(height, scale.area.x, lines));
  out.push('</svg>', '');
  return out.join('\n');
}

/** A stack's outstanding bytes at each point of the timeline, found by its frames. */
function seriesOf(timeline: Timeline, frames: Frame[]): number[] {
  const found = timeline.stacks.find((stack) => stack.frames === frames || sameFrames(stack.frames, frames));
  return found?.outstandingBytes ?? [];
}

function sameFrames(a: Frame[], b: Frame[]): boolean {
  return a.length === b.length && a.every((frame, index) => frame.name === b[index]!.name && frame.module === b[index]!.module);
}

function leafName(frames: Frame[]): string {
  return frames.at(-1)?.name ?? '?';
}

/**
 * The growth section of the malloc html page: the plot, a panel with the selected stack's frames,
 * and the script that selects a stack when its line is clicked (the stacks ride along as JSON,
 * `<` escaped so that no frame name can close the script).
 */
export function renderGrowthHtml(profile: MallocProfile, plots: string[]): string[] {
  const stacks = plottedStacks(profile).map((stack) => ({
    label: stack.label,
    frames: [...stack.frames].reverse().map((frame) => (frame.module ? `${frame.name} (${frame.module})` : frame.name)),
  }));
  const data = JSON.stringify(stacks).replaceAll('<', '\\u003c');
  return [
    '<h2>Growth over time</h2>',
    ...plots,
    '<pre id="memtrace-growth-stack">Click a line to see its stack.</pre>',
    `<script>(function(){var stacks=${data};var panel=document.getElementById('memtrace-growth-stack');` +
      "document.querySelectorAll('polyline[data-stack]').forEach(function(line){line.style.cursor='pointer';line.addEventListener('click',function(){" +
      "document.querySelectorAll('polyline[data-stack]').forEach(function(other){other.setAttribute('stroke-width','1.8');});" +
      "line.setAttribute('stroke-width','4');var stack=stacks[Number(line.getAttribute('data-stack'))];" +
      "panel.textContent=stack.label+'\\n'+stack.frames.map(function(frame){return '  '+frame;}).join('\\n');});});})();</script>",
  ];
}
