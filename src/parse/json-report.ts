// memtrace's own json reports (malloc, gc, calls) read back whole: a report is one JSON document
// bounded by what it lists, not by the length of the trace. JSON that does not parse is a
// ParseError at the line where it broke; each reader then checks the shape it needs.
//
// Every report is an object: a file whose head does not begin with "{" (a raw log or garbage given
// with --input-format malloc-json) is refused from its head, before the whole file is read into
// memory, and named at its first line rather than at the line where JSON.parse gave up.
import { readFile } from 'node:fs/promises';
import { ParseError } from '../errors.js';
import { readLogHead } from './first-line.js';

export async function readJsonReport(path: string, format: string): Promise<unknown> {
  const head = await readLogHead(path);
  const start = head.text.trimStart();
  // An empty file falls through: JSON.parse names it cut short, as before.
  if (start !== '' && !start.startsWith('{')) {
    const lineNumber = head.text.slice(0, head.text.length - start.length).split('\n').length;
    throw new ParseError({ file: path, lineNumber, format, expected: 'a JSON object, "{" (a memtrace json report)', line: head.firstLine });
  }
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    const lineNumber = position === undefined ? text.split('\n').length : text.slice(0, Number(position)).split('\n').length;
    throw new ParseError({ file: path, lineNumber, format, expected: 'valid JSON (is the file cut short?)' });
  }
}
