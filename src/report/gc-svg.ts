// A GcLog as a self-contained SVG time plot: above, the process's RSS after each collection; below,
// each collection's pause as a bar at its start, coloured by kind. Axes, grid, thinning and units
// are the process plot's (series-svg.ts), so the two read alike.
import { GC_KINDS, type GcKind, type GcLog } from '../model/gc-log.js';
import { escapeXml } from './flamegraph-svg.js';
import { niceByteStep, niceSecondStep, thinToPixelColumns } from './series-svg.js';
import { formatBytes, formatDuration } from './units.js';
import { truncate } from './text.js';

const KIND_COLORS: Record<GcKind, string> = {
  scavenge: '#2f9e44',
  'mark-compact': '#c92a2a',
  'minor-mark-compact': '#e8590c',
  'incremental-marking': '#7048e8',
  'weak-callbacks': '#868e96',
  unknown: '#495057',
};

const MARGIN = { left: 84, right: 24, top: 68, bottom: 74 };
const GAP = 36;

export function renderGcSvg(log: GcLog, options: { width?: number; height?: number } = {}): string {
  const width = options.width ?? 1000;
  const height = options.height ?? 560;
  const inner = height - MARGIN.top - MARGIN.bottom - GAP;
  const rssPanel = { x: MARGIN.left, y: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: Math.round(inner * 0.55) };
  const pausePanel = { x: MARGIN.left, y: rssPanel.y + rssPanel.height + GAP, width: rssPanel.width, height: inner - rssPanel.height };
  const collections = log.collections;
  const t1 = Math.max(
    log.durationSeconds ?? 0,
    ...[collections.at(-1)].filter((c) => c !== undefined).map((c) => c!.startSeconds + c!.pauseMs / 1000),
    1e-3,
  );
  const x = (seconds: number) => rssPanel.x + (seconds / t1) * rssPanel.width;
  let maxRss = 1;
  let maxPause = 1e-3;
  for (const collection of collections) {
    maxRss = Math.max(maxRss, collection.rssAfterBytes);
    maxPause = Math.max(maxPause, collection.pauseMs);
  }
  const rssStep = niceByteStep(maxRss / 4);
  const rssMax = Math.ceil((maxRss * 1.05) / rssStep) * rssStep;
  const pauseStep = niceSecondStep(maxPause / 1000 / 3) * 1000;
  const pauseMax = Math.ceil((maxPause * 1.05) / pauseStep) * pauseStep;
  const yRss = (value: number) => rssPanel.y + rssPanel.height - (value / rssMax) * rssPanel.height;
  const yPause = (value: number) => pausePanel.y + pausePanel.height - (value / pauseMax) * pausePanel.height;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const command = log.header.target.command === null ? '' : `: ${log.header.target.command.join(' ')}`;
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(truncate(`Garbage collections of PID ${log.header.target.pid ?? '?'}${command}`, 110))}</text>`,
  );
  const counts = log.summary.map((row) => `${row.count} ${row.kind}`).join(', ');
  out.push(
    `<text x="${width / 2}" y="42" text-anchor="middle" fill="#555555">${escapeXml(truncate(`${log.header.startedAt === null ? '' : `from ${log.header.startedAt}; `}${collections.length} collections${counts === '' ? '' : ` (${counts})`}`, 150))}</text>`,
  );
  const trouble = [
    log.partialReason === null ? null : `partial: ${log.partialReason}`,
    log.lostEvents > 0 ? `${log.lostEvents} events lost` : null,
    log.badLines > 0 ? `${log.badLines} unreadable lines skipped` : null,
  ].filter((part) => part !== null);
  if (trouble.length > 0)
    out.push(`<text x="${width / 2}" y="57" text-anchor="middle" fill="#c92a2a">${escapeXml(truncate(trouble.join('; '), 150))}</text>`);

  // Grids and axes of both panels, one time axis.
  for (let value = 0; value <= rssMax + rssStep / 2; value += rssStep) {
    out.push(
      `<line x1="${rssPanel.x}" x2="${rssPanel.x + rssPanel.width}" y1="${round(yRss(value))}" y2="${round(yRss(value))}" stroke="#e9ecef"/>`,
    );
    out.push(
      `<text x="${rssPanel.x - 6}" y="${round(yRss(value)) + 4}" text-anchor="end" fill="#333333">${escapeXml(formatBytes(value))}</text>`,
    );
  }
  for (let value = 0; value <= pauseMax + pauseStep / 2; value += pauseStep) {
    out.push(
      `<line x1="${pausePanel.x}" x2="${pausePanel.x + pausePanel.width}" y1="${round(yPause(value))}" y2="${round(yPause(value))}" stroke="#e9ecef"/>`,
    );
    out.push(
      `<text x="${pausePanel.x - 6}" y="${round(yPause(value)) + 4}" text-anchor="end" fill="#333333">${escapeXml(`${round(value)} ms`)}</text>`,
    );
  }
  const timeStep = niceSecondStep(t1 / 8);
  for (let tick = 0; tick <= t1 + 1e-9; tick += timeStep) {
    for (const panel of [rssPanel, pausePanel])
      out.push(`<line x1="${round(x(tick))}" x2="${round(x(tick))}" y1="${panel.y}" y2="${panel.y + panel.height}" stroke="#f1f3f5"/>`);
    out.push(
      `<text x="${round(x(tick))}" y="${pausePanel.y + pausePanel.height + 18}" text-anchor="middle" fill="#333333">${escapeXml(formatDuration(tick))}</text>`,
    );
  }
  for (const panel of [rssPanel, pausePanel])
    out.push(`<rect x="${panel.x}" y="${panel.y}" width="${panel.width}" height="${panel.height}" fill="none" stroke="#adb5bd"/>`);
  out.push(`<text x="${rssPanel.x + 6}" y="${rssPanel.y + 16}" fill="#333333">RSS after each collection</text>`);
  out.push(`<text x="${pausePanel.x + 6}" y="${pausePanel.y + 16}" fill="#333333">pause of each collection</text>`);
  out.push(
    `<text x="${pausePanel.x + pausePanel.width / 2}" y="${pausePanel.y + pausePanel.height + 38}" text-anchor="middle" fill="#333333">time since the trace began</text>`,
  );

  const rssPoints = thinToPixelColumns(collections.map((c) => [x(c.startSeconds + c.pauseMs / 1000), yRss(c.rssAfterBytes)] as const))
    .map(([px, py]) => `${round(px)},${round(py)}`)
    .join(' ');
  out.push(
    `<polyline class="rss" points="${rssPoints}" fill="none" stroke="#1f63b4" stroke-width="1.8"><title>RSS after</title></polyline>`,
  );

  // Pauses: per pixel column and kind only the longest bar is drawn (the others hide behind it).
  const bars = new Map<string, { px: number; kind: GcKind; pauseMs: number; count: number }>();
  for (const collection of collections) {
    const px = Math.floor(x(collection.startSeconds));
    const key = `${px}:${collection.kind}`;
    const bar = bars.get(key);
    if (bar === undefined) bars.set(key, { px, kind: collection.kind, pauseMs: collection.pauseMs, count: 1 });
    else {
      bar.pauseMs = Math.max(bar.pauseMs, collection.pauseMs);
      bar.count += 1;
    }
  }
  for (const bar of [...bars.values()].sort((a, b) => b.pauseMs - a.pauseMs)) {
    const top = round(yPause(bar.pauseMs));
    const tip = `${bar.kind}: ${bar.count === 1 ? '' : `longest of ${bar.count}: `}${bar.pauseMs} ms`;
    // A rect, not a vertical line: some renderers drop lines whose bounding box has no width.
    out.push(
      `<rect class="pause" data-kind="${bar.kind}" x="${bar.px}" y="${top}" width="2" height="${round(pausePanel.y + pausePanel.height - top)}" fill="${KIND_COLORS[bar.kind]}"><title>${escapeXml(tip)}</title></rect>`,
    );
  }

  let legendX = pausePanel.x;
  const legendY = height - 14;
  out.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#1f63b4" stroke-width="2"/>`);
  out.push(`<text x="${legendX + 30}" y="${legendY}">RSS after</text>`);
  legendX += 110;
  for (const kind of GC_KINDS.filter((candidate) => log.summary.some((row) => row.kind === candidate))) {
    out.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${KIND_COLORS[kind]}" stroke-width="2"/>`,
    );
    out.push(`<text x="${legendX + 30}" y="${legendY}">${escapeXml(kind)}</text>`);
    legendX += 48 + kind.length * 7.5;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
