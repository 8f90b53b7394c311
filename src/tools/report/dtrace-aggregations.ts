// `memtrace report` for any DTrace run's printed aggregations: the stack-keyed ones become a
// StackProfile (flame graph, folded, pprof…); distributions and other keyed values are shown in
// the table. A DTraceToolkit-style script's output, or `dtrace -n '… @[ustack()] = count();'`.
// Also the output of memtrace's Python flow script (scripts/dtrace/pymalloc.d).
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { ParseError, UsageError } from '../../errors.js';
import { validateTop } from '../../probes/validate.js';
import { DTRACE_AGGREGATION_FORMAT, DtraceAggregationReader, type DtraceAggregations } from '../../parse/dtrace-aggregation.js';
import { describeDtraceNotices } from '../../parse/dtrace-notices.js';
import { pyMallocDtraceNotes, PyMallocDtraceParser } from '../../parse/pymalloc-dtrace.js';
import type { StackProfile } from '../../model/stack-profile.js';
import { renderDtraceAggregationTable } from '../../report/dtrace-table.js';
import { renderStackProfile, STACK_REPORTS } from '../../report/stack-index.js';
import type { ReportInputOptions, ReportIo } from './input.js';
import { pushOnly, pushStackProfile } from './push.js';
import { checkReportPaths, reportRequestsFor, writeFamilyReports, writeReport } from '../common/write-reports.js';

export async function readDtraceAggregations(path: string, options: { lenient: boolean }): Promise<DtraceAggregations> {
  const reader = new DtraceAggregationReader({ source: path, lenient: options.lenient });
  let lines = 0;
  const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of input) {
    lines += 1;
    reader.push(line);
  }
  const result = reader.finish();
  if (result.stacks.length === 0 && result.values.length === 0 && result.distributions.length === 0 && result.lines.malformed === 0) {
    throw new ParseError({
      file: path,
      lineNumber: Math.max(1, lines),
      format: DTRACE_AGGREGATION_FORMAT,
      expected:
        lines === 0
          ? 'printed aggregations; the file is empty'
          : 'printed aggregations (a stack and its count, KEY VALUE, or a distribution)',
    });
  }
  return result;
}

export function dtraceStackProfile(aggregations: DtraceAggregations): StackProfile {
  return { valueTypes: [{ name: 'value', unit: 'count' }], defaultValue: 'value', samples: aggregations.stacks };
}

/** What the report header says beside the figures: losses, cut-off input, skipped lines. */
export function dtraceAggregationNotes(aggregations: DtraceAggregations): string[] {
  const notes = describeDtraceNotices(aggregations.notices);
  if (aggregations.truncated) notes.push('PARTIAL: the output ends inside an aggregation (the run was cut short)');
  if (aggregations.lines.malformed > 0) notes.push(`${aggregations.lines.malformed} unreadable lines skipped (--lenient)`);
  if (aggregations.lines.foreign > 0) notes.push(`${aggregations.lines.foreign} foreign lines read past`);
  return notes;
}

export async function reportDtraceAggregations(path: string, options: ReportInputOptions, io: ReportIo): Promise<number> {
  const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, STACK_REPORTS);
  const top = validateTop(options.top);
  await checkReportPaths(reports.map((report) => report.path));
  const aggregations = await readDtraceAggregations(path, { lenient: options.lenient });
  const render = { title: `DTrace aggregations: ${basename(path)}`, top, notes: dtraceAggregationNotes(aggregations) };
  for (const report of reports) {
    const text =
      report.format === 'table'
        ? renderDtraceAggregationTable(aggregations, dtraceStackProfile(aggregations), render)
        : renderStackProfile(dtraceStackProfile(aggregations), report.format, render);
    await writeReport(text, report.path, report.format, io);
  }
  if (options.push !== null) {
    const profile = dtraceStackProfile(aggregations);
    await pushStackProfile(profile, renderStackProfile(profile, 'pprof', render) as Buffer, options.push, io);
  }
  return 0;
}

/** The measures of pymalloc.d's rows, in the order of its record; --value picks the one shown. */
const PYMALLOC_VALUES = ['allocBytes', 'allocs', 'frees'] as const;

/** `memtrace report` for scripts/dtrace/pymalloc.d output: allocations by Python function. */
export async function reportPyMallocDtrace(path: string, options: ReportInputOptions, io: ReportIo): Promise<number> {
  const value = options.value ?? 'allocBytes';
  if (!(PYMALLOC_VALUES as readonly string[]).includes(value))
    throw new UsageError(`--value: expected ${PYMALLOC_VALUES.join(', ')} for pymalloc.d output, got ${JSON.stringify(value)}`);
  const reports = pushOnly(options) ? [] : reportRequestsFor(options.outputs, options.format, STACK_REPORTS);
  const top = validateTop(options.top);
  await checkReportPaths(reports.map((report) => report.path));
  const parser = new PyMallocDtraceParser({ source: path, lenient: options.lenient });
  const input = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of input) parser.push(line);
  const result = parser.finish();
  const notes = describeDtraceNotices(result.notices);
  if (!result.ended) notes.push(`PARTIAL: ${basename(path)} ends before dtrace printed its results`);
  if (result.lines.malformed > 0) notes.push(`${result.lines.malformed} unreadable lines skipped (--lenient)`);
  if (result.lines.foreign > 0) notes.push(`${result.lines.foreign} foreign lines read past`);
  notes.push(...pyMallocDtraceNotes(result));
  const profile: StackProfile = {
    valueTypes: [
      { name: 'allocs', unit: 'count' },
      { name: 'allocBytes', unit: 'bytes' },
      { name: 'frees', unit: 'count' },
    ],
    defaultValue: value,
    samples: result.samples,
  };
  const render = { title: `malloc by Python function (DTrace): ${basename(path)}`, top, notes };
  await writeFamilyReports(STACK_REPORTS, profile, reports, render, io);
  if (options.push !== null) await pushStackProfile(profile, renderStackProfile(profile, 'pprof', render) as Buffer, options.push, io);
  return 0;
}
