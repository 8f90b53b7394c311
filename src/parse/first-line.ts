// The first non-empty line of a file, read from its first 64 KiB: enough to tell a log's kind
// before choosing its parser.
import { open } from 'node:fs/promises';

export async function firstLine(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead).split('\n').find((line) => line.trim() !== '') ?? '';
  } finally {
    await handle.close();
  }
}
