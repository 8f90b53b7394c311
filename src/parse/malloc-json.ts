// Reads memtrace's own malloc json report (the documented contract, schema 1) back into the model:
// what `memtrace report --diff before.json after.json` compares. A report is one JSON document
// written by memtrace, bounded by the number of distinct stacks, so it is parsed whole.
import { readFile } from 'node:fs/promises';
import { ParseError } from '../errors.js';
import type { MallocProfile } from '../model/malloc-profile.js';

/** Whether a file's first line opens a json report (two-space indented, "{" alone on line 1). */
export function looksLikeJsonReport(firstLine: string): boolean {
  return firstLine.trim() === '{';
}

export async function readMallocJson(path: string): Promise<MallocProfile> {
  const text = await readFile(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    const lineNumber = position === undefined ? text.split('\n').length : text.slice(0, Number(position)).split('\n').length;
    throw new ParseError({ file: path, lineNumber, format: 'memtrace malloc json report', expected: 'valid JSON (is the file cut short?)' });
  }
  const report = value as Partial<MallocProfile>;
  if ((report?.tool !== 'malloc' && report?.tool !== 'external') || report.schema !== 1 || !Array.isArray(report.stacks) || typeof report.totals !== 'object' || !Array.isArray(report.functions)) {
    throw new ParseError({ file: path, lineNumber: 1, format: 'memtrace malloc json report', expected: 'a report with "tool": "malloc", "schema": 1, totals, functions and stacks' });
  }
  report.stacks.forEach((stack, index) => {
    if (!Array.isArray(stack?.frames) || typeof stack.allocBytes !== 'number' || typeof stack.allocs !== 'number' || typeof stack.outstandingBytes !== 'number' || typeof stack.outstanding !== 'number') {
      throw new ParseError({ file: path, lineNumber: 1, format: 'memtrace malloc json report', expected: `stacks[${index}] with frames, allocs, allocBytes, outstanding and outstandingBytes` });
    }
  });
  return report as MallocProfile;
}
