// Reads `ps` output, the way memtrace samples a process on macOS (no /proc there).
//
// memtrace runs `ps -o pid=,ppid=,rss=,vsz=,comm= -p PID` (or `-A` for --children). The trailing
// `=` leaves every header empty, so ps prints no header line. On macOS, ps(1) documents rss and vsz
// in kilobytes (1024 bytes) and comm as the executable's name, which is last on the line and may
// contain spaces. Example:
//   25676     1 338522112 35992477696 /usr/local/bin/python3
// (real figures are in KiB; the widths vary with the values).
import { ParseError } from '../errors.js';
import type { ProcessEntry } from './process-tree.js';

export interface PsProcess extends ProcessEntry {
  rss: number;
  vsz: number;
}

export const PS_COLUMNS = 'pid=,ppid=,rss=,vsz=,comm=';

const LINE = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*?)\s*$/;

/** Parses ps output; `source` names it in errors ("ps -p 4242"). Blank lines are skipped. */
export function parsePsOutput(text: string, source: string): PsProcess[] {
  const processes: PsProcess[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const match = LINE.exec(line);
    if (match === null) {
      throw new ParseError({
        file: source,
        lineNumber: index + 1,
        format: 'ps output',
        expected: 'PID PPID RSS(KiB) VSZ(KiB) COMMAND',
        line,
      });
    }
    processes.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      rss: Number(match[3]) * 1024,
      vsz: Number(match[4]) * 1024,
      name: match[5]!.split('/').pop() || match[5]!,
    });
  });
  return processes;
}
