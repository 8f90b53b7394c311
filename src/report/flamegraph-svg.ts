// A flame graph as one self-contained, interactive SVG: root at the bottom, each frame as wide as the
// value of the stacks through it, children ordered by name. Hover shows a frame's value and share,
// click zooms into a frame (click the root, or "Reset zoom", to go back), "Search" (or Ctrl-F)
// highlights frames matching a regular expression and tells what share of the total they hold.
// Frames narrower than 0.1% of the total are not drawn; their value still counts in their parent.
import { frameKey, frameLabel, type StackProfile } from '../model/stack-profile.js';
import { FLAMEGRAPH_SCRIPT } from './flamegraph-svg-script.js';
import { formatBytes, formatCount } from './units.js';

export interface FlamegraphOptions {
  value?: string;
  title?: string;
  subtitle?: string;
  /** Width in pixels (default 1200). */
  width?: number;
}

interface FrameNode {
  name: string;
  module: string | undefined;
  value: number;
  children: Map<string, FrameNode>;
}

const FRAME_HEIGHT = 16;
const TOP_MARGIN = 58;
const BOTTOM_MARGIN = 24;
const SIDE_MARGIN = 10;
const MIN_SHARE = 0.001;

export function renderFlamegraphSvg(profile: StackProfile, options: FlamegraphOptions = {}): string {
  const valueName = options.value ?? profile.defaultValue;
  const unit = profile.valueTypes.find((type) => type.name === valueName)?.unit ?? 'count';
  const format = (value: number) => (unit === 'bytes' ? formatBytes(value) : formatCount(value));
  const root: FrameNode = { name: 'all', module: undefined, value: 0, children: new Map() };
  for (const sample of profile.samples) {
    const value = sample.values[valueName] ?? 0;
    if (value <= 0) continue;
    root.value += value;
    let node = root;
    for (const frame of sample.frames) {
      const key = frameKey(frame);
      let child = node.children.get(key);
      if (child === undefined) {
        child = { name: frameLabel(frame), module: frame.module, value: 0, children: new Map() };
        node.children.set(key, child);
      }
      child.value += value;
      node = child;
    }
  }

  const width = options.width ?? 1200;
  const chartWidth = width - 2 * SIDE_MARGIN;
  const rects: Array<{ node: FrameNode; x: number; depth: number }> = [];
  let maxDepth = 0;
  const layout = (node: FrameNode, x: number, depth: number) => {
    if (root.value === 0 || node.value / root.value < MIN_SHARE) return;
    rects.push({ node, x, depth });
    maxDepth = Math.max(maxDepth, depth);
    let childX = x;
    const children = [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      layout(child, childX, depth + 1);
      childX += child.value / root.value;
    }
  };
  layout(root, 0, 0);

  const height = TOP_MARGIN + (maxDepth + 1) * FRAME_HEIGHT + BOTTOM_MARGIN;
  const title = options.title ?? 'Flame graph';
  const total = `Total: ${format(root.value)}`;
  const parts: string[] = [];
  parts.push(
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="flamegraph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-chart-width="${chartWidth}" data-side="${SIDE_MARGIN}">`,
    // Selectors under .flamegraph: inlined in the HTML report, the style must not reach the rest of the page.
    `<style>.flamegraph text { font-family: monospace; font-size: 12px; } .flamegraph .frame text { pointer-events: none; fill: #000; } .flamegraph .frame rect { stroke: #fff; stroke-width: 0.5; cursor: pointer; } .flamegraph .frame.faded rect { opacity: 0.45; } .flamegraph .frame.match rect { fill: #e040c0; } .flamegraph .control { cursor: pointer; fill: #333; } .flamegraph .details { fill: #333; }</style>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f4"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" style="font-size:16px">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="38" text-anchor="middle">${escapeXml([total, options.subtitle].filter(Boolean).join(' · '))}</text>`,
    `<text class="control reset" x="${SIDE_MARGIN}" y="20" visibility="hidden">Reset zoom</text>`,
    `<text class="control search" x="${width - SIDE_MARGIN}" y="20" text-anchor="end">Search</text>`,
    `<text class="matched" x="${width - SIDE_MARGIN}" y="${height - 8}" text-anchor="end"></text>`,
    `<text class="details" x="${SIDE_MARGIN}" y="${height - 8}"> </text>`,
  );
  if (root.value === 0) {
    parts.push(`<text x="${width / 2}" y="${TOP_MARGIN + 20}" text-anchor="middle">no samples</text>`);
  }
  parts.push('<g class="frames">');
  for (const { node, x, depth } of rects) {
    const share = node.value / root.value;
    const label = node.module ? `${node.name} (${node.module})` : node.name;
    const tooltip = `${label}: ${format(node.value)} (${(share * 100).toFixed(2)}%)`;
    const px = SIDE_MARGIN + x * chartWidth;
    const pw = share * chartWidth;
    const y = height - BOTTOM_MARGIN - (depth + 1) * FRAME_HEIGHT;
    parts.push(
      `<g class="frame" data-x="${x}" data-w="${share}" data-depth="${depth}" data-name="${escapeXml(node.name)}">` +
        `<title>${escapeXml(tooltip)}</title>` +
        `<rect x="${px.toFixed(2)}" y="${y}" width="${pw.toFixed(2)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${depth === 0 ? '#b0b8c0' : colour(node.name)}"/>` +
        `<text x="${(px + 3).toFixed(2)}" y="${y + 12}">${escapeXml(fitLabel(node.name, pw))}</text>` +
        `</g>`,
    );
  }
  parts.push('</g>', `<script type="text/ecmascript"><![CDATA[${FLAMEGRAPH_SCRIPT}]]></script>`, '</svg>', '');
  return parts.join('\n');
}

/** As many characters of the name as fit at ~7.5 px a character (12 px monospace); `..` marks a cut. */
export function fitLabel(name: string, widthPx: number): string {
  const chars = Math.floor((widthPx - 6) / 7.5);
  if (chars < 3) return '';
  return name.length <= chars ? name : `${name.slice(0, chars - 2)}..`;
}

/** A memory palette: greens to blues, the same colour for the same name in every graph. */
function colour(name: string): string {
  let hash = 2166136261;
  for (let index = 0; index < name.length; index += 1) {
    hash ^= name.charCodeAt(index);
    hash = Math.imul(hash, 16777619);
  }
  const unit = (hash >>> 0) / 0xffffffff;
  const hue = 100 + Math.round(unit * 110);
  const lightness = 55 + Math.round((((hash >>> 8) & 0xff) / 255) * 15);
  return `hsl(${hue},55%,${lightness}%)`;
}

// Characters XML 1.0 has no place for, not even as references (C0 controls but tab, newline and
// return; lone surrogates; U+FFFE and U+FFFF): a symbol or file name holding one would make the
// whole svg unreadable by a browser, so it is shown as U+FFFD instead.
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/[<>&"']/g, (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[character]!);
}
