// The terminal report of `memtrace explain`: the RSS, each part with its share and how it was
// measured, the biggest members of each part, the allocator's arenas, then the diagnosis and what the
// figures could not cover.
import { PART_LABELS, type RssExplanation } from '../model/rss-explanation.js';
import { truncate } from './text.js';
import { formatBytes } from './units.js';

export function renderExplainTable(explanation: RssExplanation): string {
  const lines: string[] = [];
  const command = explanation.command === '' ? '' : ` (${truncate(explanation.command, 60)})`;
  lines.push(`memtrace explain: PID ${explanation.pid}${command} at ${explanation.takenAt}`);
  lines.push(`RSS ${formatBytes(explanation.rssBytes)} (the kernel's VmRSS: ${formatBytes(explanation.kernelRssBytes)})`);
  lines.push('');
  const rows = [['Part', 'Resident', 'Share', 'Measured']];
  for (const part of explanation.parts) rows.push([PART_LABELS[part.kind], formatBytes(part.bytes), percent(part.share), part.accuracy]);
  lines.push(...table(rows));
  for (const part of explanation.parts) {
    if (part.members.length === 0) continue;
    lines.push('', `${PART_LABELS[part.kind]}: ${formatBytes(part.bytes)}, ${part.count} member${part.count === 1 ? '' : 's'}`);
    lines.push(`  measured: ${part.how}`);
    for (const member of part.members)
      lines.push(
        `  ${formatBytes(member.bytes).padStart(10)}  ${truncate(member.name, 70)}${member.detail === undefined ? '' : ` (${member.detail})`}`,
      );
    if (part.count > part.members.length) lines.push(`  … and ${part.count - part.members.length} more`);
    for (const carved of part.carvedOut ?? [])
      lines.push(`  ${`−${formatBytes(carved.bytes)}`.padStart(10)}  counted as ${PART_LABELS[carved.into]}`);
  }
  const allocator = explanation.allocator;
  lines.push('');
  if (allocator === null) lines.push(`Allocator: not read (${explanation.allocatorNote ?? 'unknown'})`);
  else {
    lines.push(`Allocator: glibc ${allocator.version}, ${allocator.arenas.length} arena${allocator.arenas.length === 1 ? '' : 's'}`);
    const arenaRows = [['Arena', 'Mapped', 'Resident', 'Live', 'Free', 'of it top']];
    for (const arena of allocator.arenas)
      arenaRows.push([
        arena.main ? 'main' : `0x${arena.address}`,
        formatBytes(arena.systemBytes),
        formatBytes(arena.residentBytes),
        formatBytes(arena.liveResidentBytes),
        formatBytes(arena.freeResidentBytes),
        formatBytes(arena.topResidentBytes),
      ]);
    lines.push(...table(arenaRows).map((line) => `  ${line}`));
    lines.push(`  blocks mmapped on their own: ${allocator.mmapped.count}, ${formatBytes(allocator.mmapped.residentBytes)} resident`);
  }
  lines.push('', 'Diagnosis:');
  for (const finding of explanation.diagnosis) {
    lines.push(`- ${finding.summary}`);
    for (const evidence of finding.evidence) lines.push(`    ${evidence}`);
    for (const remedy of finding.remedies) lines.push(`    try: ${remedy}`);
  }
  if (explanation.notes.length > 0) lines.push('', 'Notes:', ...explanation.notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
