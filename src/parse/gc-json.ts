// Reads memtrace's own gc json report back (to re-render it: `memtrace report gc.json -f svg`). A
// report is one JSON document written by memtrace, bounded by the collections it lists, so it is
// parsed whole; its shape is checked field by field so that a foreign file fails with a clear message.
import { ParseError } from '../errors.js';
import { readJsonReport } from './json-report.js';

const FORMAT = 'memtrace gc json report';

/** Whether the head of a file is a gc json report: `{`, then `"header": {` whose first key is `"tool": "gc"`. */
export function looksLikeGcJson(head: string): boolean {
  return /^\{\s*"header":\s*\{\s*"tool":\s*"gc"/.test(head);
}

/** The report's object, checked to hold what the gc reports read; typed by the caller (tools/ knows the model). */
export async function readGcJson(path: string): Promise<Record<string, unknown>> {
  const value = await readJsonReport(path, FORMAT);
  const report = value as Record<string, unknown> | null;
  const header = report?.header as Record<string, unknown> | undefined;
  if (header?.tool !== 'gc' || !Array.isArray(report?.collections) || !Array.isArray(report?.summary)) {
    throw new ParseError({
      file: path,
      lineNumber: 1,
      format: FORMAT,
      expected: 'a report with header.tool "gc", collections and summary',
    });
  }
  (report!.collections as unknown[]).forEach((item, index) => {
    const collection = item as Record<string, unknown> | null;
    const ok =
      typeof collection?.kind === 'string' &&
      (typeof collection.reason === 'string' || collection.reason === null) &&
      ['pauseMs', 'rssAfterBytes', 'rssBeforeBytes', 'startSeconds', 'tid'].every((key) => typeof collection[key] === 'number');
    if (!ok)
      throw new ParseError({
        file: path,
        lineNumber: 1,
        format: FORMAT,
        expected: `collections[${index}] with kind, reason, pauseMs, rssAfterBytes, rssBeforeBytes, startSeconds and tid`,
      });
  });
  return report!;
}
