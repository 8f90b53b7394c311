// The terminal report of the malloc tool, 80 columns wide: header, losses (always shown, "none" when
// nothing was lost), the per-function summary, the size histogram, the top allocating stacks and
// the stacks still holding memory at the end (the leak report), then notes.
import type { MallocProfile, MallocStack, TraceLosses } from '../model/malloc-profile.js';
import type { Frame } from '../model/stack-profile.js';
import type { GrowthKind } from '../model/growth.js';
import { renderHistogramLines } from './histogram-table.js';
import { tracerChoiceLines, truncate, wrap } from './text.js';
import { formatBytes, formatCount, formatDuration } from './units.js';

export interface MallocTableOptions {
  /** Stacks shown in each stack section (default 10). */
  top?: number;
  /** Line width (default 80). */
  width?: number;
}

const MAX_FRAMES_SHOWN = 12;

const LOSS_LABELS: Record<keyof TraceLosses, string> = {
  lostEvents: 'lost events',
  truncatedStacks: 'stacks cut at --stack-depth',
  unattributedAllocs: 'allocations without a stack (stack map full)',
  untrackedLiveBlocks: 'live blocks not tracked (live map full)',
  unsymbolizedFrames: 'unnamed frames',
  cutStacks: 'stacks cut where frame pointers end',
  skippedLines: 'malformed lines skipped',
  foreignLines: "foreign lines read past (not the program's output)",
};

export function renderMallocTable(profile: MallocProfile, options: MallocTableOptions = {}): string {
  const width = options.width ?? 80;
  const top = options.top ?? 10;
  const lines: string[] = [];

  lines.push(...header(profile).flatMap((line) => wrapCut(line, width)));
  lines.push(...wrapCut(lossesLine(profile.losses), width));
  lines.push('');

  const noCalls = profile.functions.every((fn) => fn.calls === 0) && profile.stacks.length === 0;
  if (noCalls) {
    lines.push('No allocations were seen.');
  } else {
    lines.push(...functionTable(profile));
    lines.push('');
    lines.push(...histogram(profile, width));
    lines.push(
      ...stackSection(
        `Top allocating stacks, by bytes`,
        rank(profile.stacks, 'allocBytes', top),
        width,
        (stack) =>
          `${formatBytes(stack.allocBytes)} in ${plural(stack.allocs, 'allocation')}` +
          (stack.outstanding > 0 ? `, ${formatCount(stack.outstanding)} outstanding (${formatBytes(stack.outstandingBytes)})` : ''),
      ),
    );
    const leaking = rank(
      profile.stacks.filter((stack) => stack.outstanding > 0),
      'outstandingBytes',
      top,
    );
    if (leaking.length === 0) {
      lines.push('Outstanding at the end (leak report): nothing outstanding.', '');
    } else {
      lines.push(
        ...stackSection(
          'Outstanding at the end (leak report), by bytes',
          leaking,
          width,
          (stack) =>
            `${formatBytes(stack.outstandingBytes)} in ${plural(stack.outstanding, 'block')}` +
            (stack.oldestAgeSeconds === null ? '' : `, oldest ${formatDuration(stack.oldestAgeSeconds)}`),
        ),
      );
    }
  }
  if (profile.timeline !== undefined) lines.push(...growthSection(profile, width, top));
  if (profile.notes.length > 0) {
    lines.push('Notes:');
    for (const note of profile.notes)
      lines.push(...wrapCut(note, width - 4).map((part, index) => `${index === 0 ? '  - ' : '    '}${part}`));
  }
  while (lines.at(-1) === '') lines.pop();
  return `${lines.join('\n')}\n`;
}

function header(profile: MallocProfile): string[] {
  const target = [
    profile.target.pid === null ? null : `PID ${profile.target.pid}`,
    profile.target.command === null ? null : profile.target.command.join(' '),
  ]
    .filter(Boolean)
    .join(': ');
  const lines = [`memtrace ${profile.tool}: ${target || 'unknown target'}`];
  const details = [
    `${profile.tracer.name}${profile.tracer.version ? ` ${profile.tracer.version}` : ''}`,
    profile.allocator.library === null ? null : profile.allocator.library,
    profile.durationSeconds === null ? null : formatDuration(profile.durationSeconds),
  ].filter(Boolean);
  lines.push(details.join(', '));
  lines.push(...tracerChoiceLines(profile.tracer));
  if (profile.sampleEvery > 1) {
    lines.push(`Sampled: stacks and outstanding blocks are 1 allocation in ${formatCount(profile.sampleEvery)}; totals are exact.`);
  }
  if (profile.partial) lines.push(`PARTIAL: ${profile.partialReason ?? 'the trace ended early'}`);
  return lines;
}

function lossesLine(losses: TraceLosses): string {
  const parts = (Object.keys(LOSS_LABELS) as Array<keyof TraceLosses>)
    .filter((key) => losses[key] > 0)
    .map((key) => `${formatCount(losses[key])} ${LOSS_LABELS[key]}`);
  return `Losses: ${parts.length === 0 ? 'none' : parts.join(', ')}`;
}

function functionTable(profile: MallocProfile): string[] {
  const row = (name: string, calls: string, bytes: string, failed: string) =>
    `${name.padEnd(32).slice(0, 32)} ${calls.padStart(14)} ${bytes.padStart(14)} ${failed.padStart(10)}`.trimEnd();
  const lines = [row('Function', 'Calls', 'Bytes', 'Failed')];
  for (const fn of profile.functions) {
    const releases = fn.bytes === 0 && fn.failed === 0 && /^(free|munmap|Free)$/.test(fn.name);
    lines.push(row(fn.name, formatCount(fn.calls), releases ? '' : formatBytes(fn.bytes), releases ? '' : formatCount(fn.failed)));
  }
  // external's Free is never called with NULL: V8 frees only backing stores it has.
  if (profile.tool === 'malloc') lines.push(row('  of which free(NULL)', formatCount(profile.totals.freeNull), '', ''));
  const totals = profile.totals;
  lines.push(
    `Total: ${formatCount(totals.allocs)} allocations (${formatBytes(totals.allocBytes)}), ${formatCount(totals.frees)} frees, ` +
      `${formatCount(totals.failed)} failed; ${formatCount(totals.outstanding)} outstanding (${formatBytes(totals.outstandingBytes)})`,
  );
  return lines.flatMap((line) => wrapCut(line, 80));
}

function histogram(profile: MallocProfile, width: number): string[] {
  if (profile.histogram.buckets.length === 0) return [];
  return [...renderHistogramLines('Requested sizes (bytes, log2 buckets)', profile.histogram.buckets, width), ''];
}

function rank(stacks: MallocStack[], key: 'allocBytes' | 'outstandingBytes', top: number): MallocStack[] {
  return [...stacks]
    .filter((stack) => stack[key] > 0)
    .sort((a, b) => b[key] - a[key])
    .slice(0, top);
}

const GROWTH_WORDS: Record<GrowthKind, string> = {
  'steady-growth': 'steady growth',
  growth: 'growth',
  plateau: 'plateau',
  released: 'released',
  churn: 'churn',
  flat: 'flat',
};

/** --timeline: the stacks growing to the end, ranked, then one line for each of the others. */
function growthSection(profile: MallocProfile, width: number, top: number): string[] {
  const timeline = profile.timeline!;
  const points =
    `${plural(timeline.times.length, 'point')} ${formatDuration(timeline.intervalSeconds)} apart` +
    (timeline.downsampleFactor > 1 ? ` (thinned ${timeline.downsampleFactor}×)` : '');
  const lines = wrapCut(`Growth over time (--timeline: ${points}; blocks allocated before the trace began are not seen)`, width);
  if (profile.growthNote) return [...lines, ...wrapCut(profile.growthNote, width), ''];
  const growth = profile.growth ?? [];
  if (growth.length === 0) lines.push('No stack grew to the end of the trace.');
  lines.push(
    ...stackSection(
      null,
      growth.slice(0, top),
      width,
      (stack) =>
        `${GROWTH_WORDS[stack.kind]}: ${formatBytes(Math.round(stack.bytesPerSecond))}/s (fit ${stack.fit.toFixed(2)}), ` +
        `${formatBytes(stack.endBytes)} at the end, ${Math.round(stack.shareOfGrowth * 100)}% of the growth`,
    ),
  );
  const others = profile.notGrowing ?? [];
  if (others.length > 0) {
    lines.push(`Not growing: ${plural(others.length, 'stack')}`);
    for (const stack of others.slice(0, top)) {
      const path = [...stack.frames]
        .reverse()
        .slice(0, 2)
        .map((frame) => frame.name)
        .join(' ← ');
      const figures =
        stack.kind === 'churn'
          ? `${formatBytes(stack.allocatedBytes)} allocated, ${formatBytes(stack.peakBytes)} at most`
          : `${formatBytes(stack.peakBytes)} at most, ${formatBytes(stack.endBytes)} at the end`;
      lines.push(truncate(`  ${GROWTH_WORDS[stack.kind].padEnd(13)} ${figures}: ${path}`, width));
    }
    if (others.length > top) lines.push(`  … ${others.length - top} more`);
    lines.push('');
  }
  return lines;
}

/** The stacks, numbered, leaf first; under `title` unless it is null (the growth ranking has its own heading). */
function stackSection<S extends { frames: Frame[] }>(
  title: string | null,
  stacks: S[],
  width: number,
  describe: (stack: S) => string,
): string[] {
  if (stacks.length === 0) return [];
  const lines = title === null ? [] : [title];
  stacks.forEach((stack, index) => {
    lines.push(truncate(`#${index + 1}  ${describe(stack)}`, width));
    const leafFirst = [...stack.frames].reverse();
    for (const frame of leafFirst.slice(0, MAX_FRAMES_SHOWN)) lines.push(truncate(`      ${frameText(frame)}`, width));
    if (leafFirst.length > MAX_FRAMES_SHOWN) lines.push(`      … ${leafFirst.length - MAX_FRAMES_SHOWN} more frames`);
  });
  lines.push('');
  return lines;
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

function frameText(frame: Frame): string {
  // A frame without a symbol is already named `module+0xOFFSET`.
  return frame.module && !frame.name.startsWith(`${frame.module}+0x`) ? `${frame.name} (${frame.module})` : frame.name;
}

/** Wrapped to `width`, and a word too long for a line cut, so that no line is wider. */
function wrapCut(text: string, width: number): string[] {
  return wrap(text, width).map((line) => truncate(line, width));
}
