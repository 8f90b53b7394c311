// The terminal report of a GcLog, 80 columns wide: what was traced and how it ended, the summary by
// kind (count, total and p50/p99/max pause), then one row per collection in time order (the first
// MAX_ROWS; json and tsv have them all).
import type { GcLog } from '../model/gc-log.js';
import { formatBytes, formatCount, formatDuration } from './units.js';
import { tracerChoiceLines, truncate } from './text.js';

export const MAX_ROWS = 100;

export function renderGcTable(log: GcLog): string {
  const { header } = log;
  const lines: string[] = [];
  const command = header.target.command === null ? '' : ` (${truncate(header.target.command.join(' '), 40)})`;
  lines.push(truncate(`memtrace gc: PID ${header.target.pid ?? '?'}${command}${header.binary === null ? '' : `, ${header.binary}`}`, 80));
  const probe =
    header.probe === null
      ? 'probe not recorded (a hand-run log)'
      : header.probe.kind === 'usdt'
        ? "Node's gc__start/gc__done USDT probes"
        : `uprobes on ${truncate(header.probe.demangled.replace(/\(.*$/, ''), 50)}`;
  lines.push(truncate(`${probe}${log.durationSeconds === null ? '' : `; ${formatDuration(log.durationSeconds)} traced`}`, 80));
  lines.push(...tracerChoiceLines(header.tracer));
  if (log.partialReason !== null) lines.push(truncate(`PARTIAL: ${log.partialReason}`, 80));
  // Losses first (what is missing), then the noise that was read and set aside (bpftrace's banner).
  const losses = [
    log.lostEvents > 0 ? `${formatCount(log.lostEvents)} lost events` : null,
    log.badLines > 0 ? `${formatCount(log.badLines)} unreadable lines skipped` : null,
  ].filter((part) => part !== null);
  lines.push(truncate(`Losses: ${losses.length === 0 ? 'none' : losses.join(', ')}; tracer notices: ${formatCount(log.noiseLines)}`, 80));
  for (const note of log.notes) lines.push(truncate(`note: ${note}`, 80));
  lines.push('');
  if (log.collections.length === 0) {
    lines.push('No garbage collections were seen.');
    return `${lines.join('\n')}\n`;
  }

  const total = log.collections.length;
  lines.push(`${formatCount(total)} collections`);
  lines.push(
    `${'kind'.padEnd(20)}${'count'.padStart(8)}${'total ms'.padStart(12)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}`,
  );
  for (const row of log.summary) {
    lines.push(
      `${row.kind.padEnd(20)}${formatCount(row.count).padStart(8)}${ms(row.totalPauseMs).padStart(12)}${ms(row.p50PauseMs).padStart(10)}${ms(row.p99PauseMs).padStart(10)}${ms(row.maxPauseMs).padStart(10)}`,
    );
  }
  lines.push('');
  lines.push(`${'start s'.padStart(10)}  ${'kind'.padEnd(19)}${'reason'.padEnd(27)}${'pause ms'.padStart(10)}${'RSS after'.padStart(12)}`);
  for (const collection of log.collections.slice(0, MAX_ROWS)) {
    lines.push(
      `${collection.startSeconds.toFixed(3).padStart(10)}  ${collection.kind.padEnd(19)}${truncate(collection.reason ?? '-', 26).padEnd(27)}${ms(collection.pauseMs).padStart(10)}${formatBytes(collection.rssAfterBytes).padStart(12)}`,
    );
  }
  if (total > MAX_ROWS) lines.push(`… ${formatCount(total - MAX_ROWS)} more collections (the json and tsv reports list them all)`);
  return `${lines.join('\n')}\n`;
}

function ms(value: number): string {
  return value.toFixed(value >= 1000 ? 0 : 2);
}
