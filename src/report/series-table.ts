// The terminal summary of a process series, pymemtrace-like: a header, then time, RSS, ΔRSS (and
// heap used, for Node) with the labels. A long series shows the rows that matter — the first, every
// mark, the peak, the last, and each change of RSS of at least 2% of the peak since the row above
// (a larger share when there are too many) — and says how many it left out.
import { decimationNote, heapCoverageNote, markSampleIndexes, oneLine, summarizeSeries, type Series } from '../model/series.js';
import { formatBytes, formatDuration } from './units.js';

/** Series of at most this many samples are shown whole. */
const SHOW_ALL_UP_TO = 50;
/** At most this many rows for moves of RSS, besides the first, last, peak and marked samples. */
const MAX_MOVE_ROWS = 60;

export function renderSeriesTable(series: Series): string {
  const summary = summarizeSeries(series);
  const { header } = series;
  const lines: string[] = [];
  const command = header.target.command === undefined ? '' : ` (${header.target.command.join(' ')})`;
  lines.push(
    `memtrace process: PID ${header.target.pid}${command}${header.host ? ` on ${header.host}` : ''}, from ${header.start}${header.source === 'pymemtrace' ? ' (a pymemtrace log)' : ''}`,
  );
  lines.push(
    `${summary.samples} samples${header.interval > 0 ? ` every ${formatDuration(header.interval)}` : ''} over ${formatDuration(summary.duration)}; ${series.stop?.missed ?? 0} missed; ${series.marks.length} marks; ${summary.ending}`,
  );
  if (series.badLines > 0) lines.push(`${series.badLines} unreadable lines were skipped (--lenient)`);
  const decimated = decimationNote(series);
  if (decimated !== null) lines.push(decimated);
  const heapNote = heapCoverageNote(series);
  if (heapNote !== null) lines.push(heapNote);
  if (summary.first === null) {
    lines.push('No samples.');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `RSS: start ${formatBytes(summary.first.rss)}, peak ${formatBytes(summary.peak!.rss)} at ${formatDuration(summary.peak!.elapsed)}, end ${formatBytes(summary.last!.rss)} (${signedBytes(summary.last!.rss - summary.first.rss)})`,
  );
  const heapSamples = series.samples.filter((sample) => typeof sample.heapUsed === 'number');
  if (heapSamples.length > 0) {
    const peakHeap = heapSamples.reduce((best, sample) => (sample.heapUsed! > best.heapUsed! ? sample : best));
    lines.push(
      `V8 heap used: peak ${formatBytes(peakHeap.heapUsed!)} at ${formatDuration(peakHeap.elapsed)}, end ${formatBytes(heapSamples.at(-1)!.heapUsed!)}`,
    );
  }
  if (series.samples.some((sample) => typeof sample.totalRss === 'number')) {
    const peakTree = series.samples.reduce((best, sample) => ((sample.totalRss ?? 0) > (best.totalRss ?? 0) ? sample : best));
    lines.push(
      `Process tree RSS: peak ${formatBytes(peakTree.totalRss!)} at ${formatDuration(peakTree.elapsed)} (${peakTree.children?.length ?? 0} descendants then)`,
    );
  }
  lines.push('');

  const labels = new Map<number, string[]>();
  markSampleIndexes(series).forEach((index, markIndex) => {
    const at = index === -1 ? series.samples.length - 1 : index;
    labels.set(at, [...(labels.get(at) ?? []), oneLine(series.marks[markIndex]!.text)]);
  });
  const { rows, share } = chooseRows(series, labels);
  const withHeap = heapSamples.length > 0;
  const withTree = series.samples.some((sample) => typeof sample.totalRss === 'number');
  const table: string[][] = [
    ['Time', 'RSS', 'ΔRSS', ...(withTree ? ['Tree RSS', 'Children'] : []), ...(withHeap ? ['Heap used'] : []), 'Label'],
  ];
  let previous: number | null = null;
  for (const index of rows) {
    const sample = series.samples[index]!;
    table.push([
      formatDuration(sample.elapsed),
      formatBytes(sample.rss),
      previous === null ? '' : signedBytes(sample.rss - previous),
      ...(withTree ? [typeof sample.totalRss === 'number' ? formatBytes(sample.totalRss) : '', String(sample.children?.length ?? 0)] : []),
      ...(withHeap ? [typeof sample.heapUsed === 'number' ? formatBytes(sample.heapUsed) : ''] : []),
      (labels.get(index) ?? []).join('; ') +
        (index === series.samples.indexOf(summary.peak!) ? `${labels.has(index) ? ' ' : ''}(peak)` : ''),
    ]);
    previous = sample.rss;
  }
  const widths = table[0]!.map((_, column) => table.reduce((widest, row) => Math.max(widest, row[column]!.length), 0));
  for (const row of table) {
    lines.push(
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
        )
        .join('  ')
        .trimEnd(),
    );
  }
  if (rows.length < series.samples.length) {
    lines.push(
      `(${series.samples.length - rows.length} of ${series.samples.length} samples not shown: RSS moved less than ${Math.round(share * 100)}% of the peak; the tsv report has them all${decimated === null ? '' : ' (all that were kept)'})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The rows of a long series: the first, the last, the peak, every mark, and each move of RSS of at
 * least a share of the peak since the row above — 2%, doubled until the moves fit in MAX_MOVE_ROWS
 * (a noisy series would otherwise print most of its samples).
 */
function chooseRows(series: Series, labels: Map<number, string[]>): { rows: number[]; share: number } {
  const count = series.samples.length;
  if (count <= SHOW_ALL_UP_TO) return { rows: series.samples.map((_, index) => index), share: 0 };
  const peak = series.samples.reduce((best, sample, index) => (sample.rss > series.samples[best]!.rss ? index : best), 0);
  for (let share = 0.02; ; share *= 2) {
    const threshold = series.samples[peak]!.rss * share;
    const rows: number[] = [];
    let moves = 0;
    let shown = series.samples[0]!.rss;
    series.samples.forEach((sample, index) => {
      const fixed = index === 0 || index === count - 1 || index === peak || labels.has(index);
      const moved = Math.abs(sample.rss - shown) >= threshold;
      if (fixed || moved) {
        rows.push(index);
        shown = sample.rss;
        if (!fixed) moves += 1;
      }
    });
    if (moves <= MAX_MOVE_ROWS || share >= 1) return { rows, share };
  }
}

function signedBytes(bytes: number): string {
  return bytes >= 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}
