// memtrace's own json reports (malloc, gc, calls) read back whole: a report is one JSON document
// bounded by what it lists, not by the length of the trace. JSON that does not parse is a
// ParseError at the line where it broke; each reader then checks the shape it needs.
import { readFile } from 'node:fs/promises';
import { ParseError } from '../errors.js';

export async function readJsonReport(path: string, format: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    const lineNumber = position === undefined ? text.split('\n').length : text.slice(0, Number(position)).split('\n').length;
    throw new ParseError({ file: path, lineNumber, format, expected: 'valid JSON (is the file cut short?)' });
  }
}
