// Reads FlameGraph's folded stacks — `root;caller;leaf COUNT`, one stack a line, as written by
// stackcollapse-*.pl, `memtrace … -o x.folded` and most profilers' exporters — into a StackProfile.
// Streaming, line by line. Frame names may hold spaces: the count is what follows the last space.
// The same stack on several lines is summed, as flamegraph.pl does.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ParseError } from '../errors.js';
import { mergeSamples, type StackProfile, type StackSample } from '../model/stack-profile.js';

// dotAll: a frame may hold U+2028/U+2029, which readline keeps inside the line but `.` would not match.
const LINE = /^(.*\S) +(\d+(?:\.\d+)?)$/s;

/** Whether a first line looks like folded stacks: frames joined by ";" and a count. */
export function looksFolded(firstLine: string): boolean {
  return LINE.test(firstLine.trim()) && firstLine.includes(';') && !firstLine.startsWith('memtrace:') && !firstLine.startsWith('{');
}

export async function readFolded(path: string, options: { lenient: boolean }): Promise<{ profile: StackProfile; badLines: number }> {
  // Summed as read, by stack text: memory follows the distinct stacks, not the lines.
  const byStack = new Map<string, StackSample>();
  let badLines = 0;
  let lineNumber = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNumber += 1;
    if (line.trim() === '') continue;
    const match = LINE.exec(line.trimEnd());
    if (match === null) {
      if (!options.lenient)
        throw new ParseError({
          file: path,
          lineNumber,
          format: 'folded stacks',
          expected: 'frames separated by ";", a space, then a count',
          line,
        });
      badLines += 1;
      continue;
    }
    const stack = match[1]!;
    const count = Number(match[2]);
    const known = byStack.get(stack);
    if (known !== undefined) known.values.samples! += count;
    else byStack.set(stack, { frames: stack.split(';').map((name) => ({ name: name.trim() || '?' })), values: { samples: count } });
  }
  if (byStack.size === 0 && badLines === 0) {
    throw new ParseError({
      file: path,
      lineNumber: Math.max(1, lineNumber),
      format: 'folded stacks',
      expected: 'at least one stack; the file is empty',
    });
  }
  // Lines that differ only in spaces around frame names are the same stack: merged once more.
  return {
    profile: { valueTypes: [{ name: 'samples', unit: 'count' }], defaultValue: 'samples', samples: mergeSamples(byStack.values()) },
    badLines,
  };
}
