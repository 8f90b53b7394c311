// Reads memtrace's own malloc json report (the documented contract, schema 1) back into the model:
// what `memtrace report --diff before.json after.json` compares. A report is one JSON document
// written by memtrace, bounded by the number of distinct stacks, so it is parsed whole.
import { ParseError } from '../errors.js';
import { readJsonReport } from './json-report.js';
import type { MallocProfile } from '../model/malloc-profile.js';

/** Whether a file's first line opens a json report (two-space indented, "{" alone on line 1). */
export function looksLikeJsonReport(firstLine: string): boolean {
  return firstLine.trim() === '{';
}

export async function readMallocJson(path: string): Promise<MallocProfile> {
  const value = await readJsonReport(path, 'memtrace malloc json report');
  const report = value as Partial<MallocProfile>;
  if (
    (report?.tool !== 'malloc' && report?.tool !== 'external') ||
    report.schema !== 1 ||
    !Array.isArray(report.stacks) ||
    typeof report.totals !== 'object' ||
    !Array.isArray(report.functions)
  ) {
    throw new ParseError({
      file: path,
      lineNumber: 1,
      format: 'memtrace malloc json report',
      expected: 'a report with "tool": "malloc", "schema": 1, totals, functions and stacks',
    });
  }
  report.stacks.forEach((stack, index) => {
    if (
      !Array.isArray(stack?.frames) ||
      typeof stack.allocBytes !== 'number' ||
      typeof stack.allocs !== 'number' ||
      typeof stack.outstandingBytes !== 'number' ||
      typeof stack.outstanding !== 'number'
    ) {
      throw new ParseError({
        file: path,
        lineNumber: 1,
        format: 'memtrace malloc json report',
        expected: `stacks[${index}] with frames, allocs, allocBytes, outstanding and outstandingBytes`,
      });
    }
  });
  return report as MallocProfile;
}
