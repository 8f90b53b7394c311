// The terminal report of the faults tool, 80 columns wide: header, losses (always shown, "none"
// when nothing was lost), totals, then the top stacks by bytes made resident and, apart, by brk
// growth and by mmap length: the generic stack table shows one value, and these are three.
import type { FaultsLosses, FaultsProfile, FaultsStack } from '../model/faults-profile.js';
import { foldedName } from './folded.js';
import { formatBytes, formatCount, formatDuration } from './units.js';
import { tracerChoiceLines } from './text.js';

const WIDTH = 80;

const LOSS_LABELS: Record<keyof FaultsLosses, string> = {
  lostEvents: 'lost events',
  truncatedStacks: 'stacks cut at --stack-depth',
  stackCollisions: 'stack hash collisions',
  registerMismatches: 'faults with unreliable registers',
  unsymbolizedFrames: 'frames without a symbol',
  cutStacks: 'stacks cut where frame pointers end',
  skippedLines: 'malformed lines skipped',
  foreignLines: "foreign lines read past (not the program's output)",
};

export function renderFaultsTable(profile: FaultsProfile, options: { top?: number } = {}): string {
  const top = options.top ?? 10;
  const { totals } = profile;
  const target = profile.target.command?.join(' ') ?? (profile.target.pid === null ? 'unknown target' : `PID ${profile.target.pid}`);
  const lines: string[] = [
    `memtrace faults: ${target}${profile.target.command !== null && profile.target.pid !== null ? ` (PID ${profile.target.pid})` : ''}`,
  ];
  const traced = [
    profile.durationSeconds === null ? null : `traced ${formatDuration(profile.durationSeconds)}`,
    `${profile.tracer.name}${profile.tracer.version === null ? '' : ` ${profile.tracer.version}`}`,
    `page size ${formatCount(profile.pageSize)} B`,
  ].filter(Boolean);
  lines.push(traced.join(', '));
  lines.push(...tracerChoiceLines(profile.tracer));
  if (profile.partial) lines.push(`PARTIAL: ${profile.partialReason}`);
  const losses = (Object.keys(LOSS_LABELS) as Array<keyof FaultsLosses>)
    .filter((key) => profile.losses[key] > 0)
    .map((key) => `${formatCount(profile.losses[key])} ${LOSS_LABELS[key]}`);
  lines.push(`Losses: ${losses.length === 0 ? 'none' : losses.join(', ')}`);
  for (const note of profile.notes) lines.push(`Note: ${note}`);
  lines.push(
    '',
    `Page faults   ${formatCount(totals.faults)}: ${formatCount(totals.notPresentFaults)} on pages not present, ${formatCount(totals.protectionFaults)} protection;`,
    `              ${formatCount(totals.writeFaults)} writes, ${formatCount(totals.instructionFaults)} instruction fetches`,
    `Made resident ${formatBytes(totals.residentBytes)} (at most: one page per fault on a page not present)`,
    `brk           ${formatCount(totals.brkCalls)} calls, grew ${formatBytes(totals.brkBytes)}, shrank ${formatBytes(totals.brkShrinkBytes)}`,
    `mmap          ${formatCount(totals.mmapCalls)} calls (${formatCount(totals.mmapFailed)} failed), mapped ${formatBytes(totals.mmapBytes)}; munmap ${formatCount(totals.munmapCalls)} calls, ${formatBytes(totals.munmapBytes)}`,
  );
  section(
    lines,
    'Stacks by bytes made resident',
    profile.stacks,
    'residentBytes',
    totals.residentBytes,
    top,
    (stack) => `${formatCount(stack.faults)} faults`,
  );
  section(lines, 'Stacks by brk growth', profile.stacks, 'brkBytes', totals.brkBytes, top);
  section(lines, 'Stacks by mmap length', profile.stacks, 'mmapBytes', totals.mmapBytes, top);
  return `${lines.join('\n')}\n`;
}

function section(
  lines: string[],
  title: string,
  stacks: FaultsStack[],
  value: 'residentBytes' | 'brkBytes' | 'mmapBytes',
  total: number,
  top: number,
  extra?: (stack: FaultsStack) => string,
): void {
  const chosen = stacks
    .filter((stack) => stack[value] > 0)
    .sort((a, b) => b[value] - a[value])
    .slice(0, top);
  if (chosen.length === 0) return;
  lines.push('', `${title} (leaf ← callers)`);
  for (const stack of chosen) {
    const share = total === 0 ? '' : `${((stack[value] / total) * 100).toFixed(1)}%`;
    const head = `${formatBytes(stack[value]).padStart(10)} ${share.padStart(6)}${extra === undefined ? '' : `  ${extra(stack)}`}`;
    lines.push(head);
    // The frames, leaf first, wrapped to the width under the figures.
    let line = '   ';
    for (const [index, frame] of [...stack.frames].reverse().entries()) {
      const text = `${index === 0 ? '' : ' ← '}${foldedName(frame)}`;
      if (line.length + text.length > WIDTH && line.trim() !== '') {
        lines.push(line);
        line = '   ';
      }
      line += text;
    }
    lines.push(line);
  }
}
