// The head of a log: its first non-empty line and its first 64 KiB, enough to tell a log's kind
// before choosing its parser (the parser then streams the whole file).
import { open } from 'node:fs/promises';

export interface LogHead {
  /** The first line that is not blank ('' for an empty file). */
  firstLine: string;
  /** The first 64 KiB, decoded as UTF-8 (a character cut at the end shows as U+FFFD). */
  text: string;
}

const HEAD_BYTES = 64 * 1024;

export async function readLogHead(path: string): Promise<LogHead> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, bytesRead);
    return { firstLine: text.split('\n').find((line) => line.trim() !== '') ?? '', text };
  } finally {
    await handle.close();
  }
}

export async function firstLine(path: string): Promise<string> {
  return (await readLogHead(path)).firstLine;
}
