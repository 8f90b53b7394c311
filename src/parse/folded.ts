// Reads FlameGraph's folded stacks — `root;caller;leaf COUNT`, one stack a line, as written by
// stackcollapse-*.pl, `memtrace … -o x.folded` and most profilers' exporters — into a StackProfile.
// Streaming, line by line. Frame names may hold spaces: the count is what follows the last space.
// The same stack on several lines is summed, as flamegraph.pl does. A line that is not a stack is
// malformed (the line shell: a ParseError, or counted under lenient); there are no foreign lines.
import { ParseError } from '../errors.js';
import { mergeSamples, type StackProfile, type StackSample } from '../model/stack-profile.js';
import { LineShell, logLines, Malformed, type LineCounts } from './line-shell.js';

const FORMAT = 'folded stacks';

// dotAll: a frame may hold U+2028/U+2029, which readline keeps inside the line but `.` would not match.
const LINE = /^(.*\S) +(\d+(?:\.\d+)?)$/s;

/** Whether a first line looks like folded stacks: frames joined by ";" and a count. */
export function looksFolded(firstLine: string): boolean {
  return LINE.test(firstLine.trim()) && firstLine.includes(';') && !firstLine.startsWith('memtrace:') && !firstLine.startsWith('{');
}

export async function readFolded(path: string, options: { lenient: boolean }): Promise<{ profile: StackProfile; lines: LineCounts }> {
  // Summed as read, by stack text: memory follows the distinct stacks, not the lines.
  const byStack = new Map<string, StackSample>();
  const shell = new LineShell({ source: path, format: FORMAT, lenient: options.lenient });
  const read = (line: string): void => {
    if (line.trim() === '') return;
    const match = LINE.exec(line.trimEnd());
    if (match === null) throw new Malformed('frames separated by ";", a space, then a count');
    const stack = match[1]!;
    const count = Number(match[2]);
    const known = byStack.get(stack);
    if (known !== undefined) known.values.samples! += count;
    else byStack.set(stack, { frames: stack.split(';').map((name) => ({ name: name.trim() || '?' })), values: { samples: count } });
  };
  for await (const line of logLines(path)) shell.line(line, read, undefined);
  if (byStack.size === 0 && shell.counts.malformed === 0) {
    throw new ParseError({
      file: path,
      lineNumber: Math.max(1, shell.lineNumber),
      format: FORMAT,
      expected: 'at least one stack; the file is empty',
    });
  }
  // Lines that differ only in spaces around frame names are the same stack: merged once more.
  return {
    profile: { valueTypes: [{ name: 'samples', unit: 'count' }], defaultValue: 'samples', samples: mergeSamples(byStack.values()) },
    lines: shell.counts,
  };
}
