// `memtrace report` for any bpftrace map dump keyed by stacks (a hand-written
// `bpftrace -e '… { @[ustack] = count(); }'`, text or -f json): one stack map is reported, the
// one --map names or else the first the file prints; the others are named in the report. The
// table adds the file's histograms. Lost events, skipped lines and a cut end are noted in every
// report: in the table, the svg subtitle, pprof comments and the json `notes`; folded stacks have
// no room for them, so they go to stderr there.
import { basename } from 'node:path';
import { UsageError } from '../../errors.js';
import { readBpftraceMaps, type BpftraceMaps, type BpftraceStackMap } from '../../parse/bpftrace-maps.js';
import type { StackProfile } from '../../model/stack-profile.js';
import { renderHistogramLines } from '../../report/histogram-table.js';
import { renderStackProfile, STACK_REPORTS } from '../../report/stack-index.js';
import { renderFoldedTrie } from '../../report/folded.js';
import { formatCount } from '../../report/units.js';
import type { ReportInputOptions, ReportIo } from './input.js';
import { pushOnly, pushStackProfile } from './push.js';
import { checkReportPaths, reportRequestsFor, writeReport } from '../common/write-reports.js';

export async function reportBpftraceMaps(path: string, options: ReportInputOptions, top: number, io: ReportIo): Promise<number> {
  const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, STACK_REPORTS);
  await checkReportPaths(reports.map((report) => report.path));
  const maps = await readBpftraceMaps(path, { lenient: options.lenient });
  const chosen = chooseStackMap(path, maps, options.map);
  const notes = bpftraceMapsNotes(path, maps, chosen);
  // The profile (an object per stack) is made only for the reports that need one.
  const profileOf = (): StackProfile =>
    chosen?.profile ?? { valueTypes: [{ name: 'count', unit: 'count' }], defaultValue: 'count', samples: [] };
  const title = `bpftrace ${chosen?.name ?? '(no stack map)'}: ${basename(path)}`;
  for (const report of reports) {
    if (report.format === 'folded' && notes.length > 0) for (const note of notes) io.stderr.write(`memtrace: ${note}\n`);
    if (report.format === 'folded' && chosen !== null) {
      // Straight from the map's trie, in chunks: no object per stack, the text never whole.
      await writeReport(renderFoldedTrie(chosen.stacks), report.path, report.format, io);
      continue;
    }
    let text = renderStackProfile(profileOf(), report.format, { title, top, notes });
    if (report.format === 'table' && maps.histograms.length > 0) text += histogramSection(maps);
    await writeReport(text, report.path, report.format, io);
  }
  if (options.push !== null)
    await pushStackProfile(profileOf(), renderStackProfile(profileOf(), 'pprof', { title, top, notes }) as Buffer, options.push, io);
  return 0;
}

/** --map NAME (with or without the "@"), else the first stack map printed. */
export function chooseStackMap(path: string, maps: BpftraceMaps, name: string | null): BpftraceStackMap | null {
  if (name === null) return maps.stackMaps[0] ?? null;
  const wanted = name.startsWith('@') ? name : `@${name}`;
  const found = maps.stackMaps.find((map) => map.name === wanted);
  if (found === undefined) {
    const names = maps.stackMaps.map((map) => map.name);
    throw new UsageError(
      `--map ${name}: ${path} has no stack map of that name; ${names.length === 0 ? 'it has none' : `it has ${names.join(', ')}`}`,
    );
  }
  return found;
}

/** What a reader of any report must know: losses, damage, and the maps not shown. */
export function bpftraceMapsNotes(path: string, maps: BpftraceMaps, chosen: BpftraceStackMap | null): string[] {
  const notes: string[] = [];
  if (maps.lostEvents > 0 || maps.lostNotices > 0)
    notes.push(
      `bpftrace lost ${formatCount(maps.lostEvents)} events in ${maps.lostNotices} "Lost N events" notices: printf and other perf-buffer output is missing; counts aggregated in maps are not affected`,
    );
  if (maps.truncated) notes.push(`${path} ends inside a stack key (cut while bpftrace printed): the last entry is missing`);
  if (maps.lines.malformed > 0) notes.push(`${formatCount(maps.lines.malformed)} malformed lines skipped (--lenient)`);
  if (chosen === null) notes.push(`no map keyed by a stack in ${path}`);
  const others = maps.stackMaps.filter((map) => map !== chosen);
  if (others.length > 0)
    notes.push(`other stack maps (--map NAME): ${others.map((map) => `${map.name} (${formatCount(map.entries)} entries)`).join(', ')}`);
  if (maps.unprofiledMaps.length > 0) notes.push(`stack maps with non-integer values, not profiled: ${maps.unprofiledMaps.join(', ')}`);
  const scalars = maps.otherMaps.filter((map) => map.text !== null);
  if (scalars.length > 0) notes.push(`values: ${scalars.map((map) => `${map.name} = ${map.text}`).join(', ')}`);
  const keyed = maps.otherMaps.filter((map) => map.text === null);
  if (keyed.length > 0)
    notes.push(`maps without stacks: ${keyed.map((map) => `${map.name} (${formatCount(map.entries)} entries)`).join(', ')}`);
  if (maps.lines.foreign > 0) notes.push(`${formatCount(maps.lines.foreign)} lines of other output (printf, the target's own)`);
  return notes;
}

function histogramSection(maps: BpftraceMaps): string {
  const lines: string[] = [];
  for (const histogram of maps.histograms)
    lines.push('', ...renderHistogramLines(`${histogram.name} (${histogram.kind})`, histogram.buckets));
  return `${lines.join('\n')}\n`;
}
