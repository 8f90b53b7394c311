// The pieces every self-contained SVG time plot shares (the process series plot, the call-log
// plot): the document frame, byte-valued y axis and grid, x axis, lines and legend, and the
// "nice" steps of both axes. Callers draw what is their own (marks, points) between them.
import { escapeXml } from './flamegraph-svg.js';
import { truncate } from './text.js';
import { formatBytes } from './units.js';

export interface PlotArea {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The scales of a plot: x from x0 to x1 (seconds, event numbers…), y from 0 to yMax bytes. */
export interface PlotScale {
  area: PlotArea;
  x0: number;
  x1: number;
  xStep: number;
  yMax: number;
  yStep: number;
  x(value: number): number;
  y(bytes: number): number;
}

export const PLOT_MARGIN = { left: 84, right: 24, top: 68, bottom: 74 };

/** Scales for values up to maxBytes over [x0, x1], with about five byte ticks and `xTicks` x ticks. */
export function plotScale(
  width: number,
  height: number,
  x0: number,
  x1: number,
  maxBytes: number,
  xStepOf: (raw: number) => number,
  xTicks = 8,
): PlotScale {
  const area = {
    x: PLOT_MARGIN.left,
    y: PLOT_MARGIN.top,
    width: width - PLOT_MARGIN.left - PLOT_MARGIN.right,
    height: height - PLOT_MARGIN.top - PLOT_MARGIN.bottom,
  };
  const yStep = niceByteStep(maxBytes / 5);
  const yMax = Math.ceil((maxBytes * 1.05) / yStep) * yStep;
  const xStep = xStepOf((x1 - x0) / xTicks);
  return {
    area,
    x0,
    x1,
    xStep,
    yMax,
    yStep,
    x: (value) => area.x + ((value - x0) / (x1 - x0)) * area.width,
    y: (bytes) => area.y + area.height - (bytes / yMax) * area.height,
  };
}

/** The opening of the document: declaration, root element, white background. */
export function openSvg(width: number, height: number): string[] {
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
}

/** Title, subtitle and an optional warning line (red), centred above the plot. */
export function plotTitles(width: number, title: string, subtitle: string, warning: string | null): string[] {
  const out = [
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(truncate(title, 110))}</text>`,
    `<text x="${width / 2}" y="42" text-anchor="middle" fill="#555555">${escapeXml(truncate(subtitle, 150))}</text>`,
  ];
  if (warning !== null)
    out.push(`<text x="${width / 2}" y="57" text-anchor="middle" fill="#c92a2a">${escapeXml(truncate(warning, 150))}</text>`);
  return out;
}

/** Horizontal grid with byte labels, vertical grid with x labels, the frame and the x axis title. */
export function plotAxes(scale: PlotScale, formatX: (value: number) => string, xTitle: string): string[] {
  const { area, x, y } = scale;
  const out: string[] = [];
  for (let value = 0; value <= scale.yMax + scale.yStep / 2; value += scale.yStep) {
    out.push(`<line x1="${area.x}" x2="${area.x + area.width}" y1="${round(y(value))}" y2="${round(y(value))}" stroke="#e9ecef"/>`);
    out.push(`<text x="${area.x - 6}" y="${round(y(value)) + 4}" text-anchor="end" fill="#333333">${escapeXml(formatBytes(value))}</text>`);
  }
  for (let tick = Math.ceil(scale.x0 / scale.xStep) * scale.xStep; tick <= scale.x1 + 1e-9; tick += scale.xStep) {
    out.push(`<line x1="${round(x(tick))}" x2="${round(x(tick))}" y1="${area.y}" y2="${area.y + area.height}" stroke="#f1f3f5"/>`);
    out.push(
      `<text x="${round(x(tick))}" y="${area.y + area.height + 18}" text-anchor="middle" fill="#333333">${escapeXml(formatX(tick))}</text>`,
    );
  }
  out.push(`<rect x="${area.x}" y="${area.y}" width="${area.width}" height="${area.height}" fill="none" stroke="#adb5bd"/>`);
  out.push(
    `<text x="${area.x + area.width / 2}" y="${area.y + area.height + 38}" text-anchor="middle" fill="#333333">${escapeXml(xTitle)}</text>`,
  );
  return out;
}

export interface PlotLine {
  name: string;
  color: string;
  dash?: string;
}

/** One named line through points already in plot coordinates. */
export function plotPolyline(line: PlotLine, points: Array<[number, number]>): string {
  const text = thinToPixelColumns(points)
    .map(([px, py]) => `${round(px)},${round(py)}`)
    .join(' ');
  return `<polyline class="series" data-name="${escapeXml(line.name)}" points="${text}" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}><title>${escapeXml(line.name)}</title></polyline>`;
}

/** The legend along the bottom edge; `extra` entries (marks…) are drawn thinner, after the lines. */
export function plotLegend(height: number, left: number, lines: PlotLine[], extra: PlotLine[] = []): string[] {
  const out: string[] = [];
  let legendX = left;
  const legendY = height - 14;
  for (const line of lines) {
    out.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.color}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}/>`,
    );
    out.push(`<text x="${legendX + 30}" y="${legendY}">${escapeXml(line.name)}</text>`);
    legendX += 48 + line.name.length * 7.5;
  }
  for (const line of extra) {
    out.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${line.color}"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}/>`,
    );
    out.push(`<text x="${legendX + 30}" y="${legendY}">${escapeXml(line.name)}</text>`);
    legendX += 48 + line.name.length * 7.5;
  }
  return out;
}

/** A step of 1, 2 or 5 × a power of ten, in the binary unit that fits (4 MiB, 200 MiB, 1 GiB). */
export function niceByteStep(raw: number): number {
  if (!(raw > 0)) return 1;
  let unit = 1;
  while (raw >= unit * 1024) unit *= 1024;
  const mantissa = raw / unit;
  const magnitude = 10 ** Math.floor(Math.log10(mantissa));
  const nice = [1, 2, 5, 10].find((step) => step * magnitude >= mantissa)! * magnitude;
  return Math.max(1, nice) * unit;
}

/** A step of seconds that reads well: 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1 h… */
export function niceSecondStep(raw: number): number {
  const steps = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200,
    86400,
  ];
  return steps.find((step) => step >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

/** A whole step of 1, 2 or 5 × a power of ten (for counts such as event numbers). */
export function niceCountStep(raw: number): number {
  if (!(raw > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].find((step) => step * magnitude >= raw)! * magnitude;
}

/** Coordinates to one decimal: enough for a screen, and short. */
/**
 * Of the points that fall in one pixel column, only the first, the highest, the lowest and the last
 * change what is drawn: a line of 200,000 samples becomes at most four points a column, and every
 * peak and trough stays visible.
 */
export function thinToPixelColumns(points: ReadonlyArray<readonly [number, number]>): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  let start = 0;
  while (start < points.length) {
    const column = Math.floor(points[start]![0]);
    let end = start;
    let high = start;
    let low = start;
    while (end + 1 < points.length && Math.floor(points[end + 1]![0]) === column) {
      end += 1;
      if (points[end]![1] < points[high]![1]) high = end;
      if (points[end]![1] > points[low]![1]) low = end;
    }
    for (const index of [...new Set([start, high, low, end])].sort((a, b) => a - b)) out.push(points[index]!);
    start = end + 1;
  }
  return out;
}

export function round(value: number): number {
  return Math.round(value * 10) / 10;
}
