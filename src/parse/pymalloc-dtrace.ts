// Parses the output of memtrace's Python flow D program (scripts/dtrace/pymalloc.d,
// src/probes/render-pymalloc-d.ts): allocations and frees by the Python function running when they
// happened, printed once at the end, one line per (file, function, line):
//   memtrace:begin pymalloc
//   memtrace:end 88813102551920
//   py	grow.py	held_out_grow	12	40	41943040	0
//   py	-	-	0	113	530112	97        (outside any Python frame)
//   memtrace:done
// Into a StackProfile of two-frame stacks, file then function, so that the flame graph groups by file.
import type { StackSample } from '../model/stack-profile.js';
import { countDtraceNotice, emptyDtraceNotices, type DtraceNotices } from './dtrace-notices.js';
import { emptyLineCounts, LineShell, Malformed, type LineCounts } from './line-shell.js';
import { PY_RECORD } from '../probes/render-pymalloc-d.js';

export const PYMALLOC_DTRACE_FORMAT = "memtrace's DTrace Python malloc output";

const RECORD = /^py\t([^\t]*)\t([^\t]*)\t(\d+)\t(\d+)\t(\d+)\t(\d+)$/;

export interface PyMallocDtrace {
  samples: StackSample[];
  began: boolean;
  ended: boolean;
  notices: DtraceNotices;
  /** Malformed and foreign lines (the launched command's own output), counted as every reader counts them (line-shell.ts). */
  lines: LineCounts;
}

export class PyMallocDtraceParser {
  private readonly result: PyMallocDtrace = {
    samples: [],
    began: false,
    ended: false,
    notices: emptyDtraceNotices(),
    lines: emptyLineCounts(),
  };
  private readonly shell: LineShell;

  constructor(options: { source: string; lenient?: boolean }) {
    this.shell = new LineShell({ ...options, format: PYMALLOC_DTRACE_FORMAT }, this.result.lines);
  }

  push(line: string): void {
    this.shell.line(line, (read) => this.read(read), undefined);
  }

  private read(line: string): void {
    if (line.trim() === '' || countDtraceNotice(line, this.result.notices)) return;
    if (line.startsWith('memtrace:begin')) {
      this.result.began = true;
      return;
    }
    if (/^memtrace:end \d+$/.test(line)) {
      this.result.ended = true;
      return;
    }
    if (line === 'memtrace:done') return;
    if (!line.startsWith(`${PY_RECORD}\t`)) {
      this.shell.foreign();
      return;
    }
    const match = RECORD.exec(line);
    if (match === null) throw new Malformed('py<TAB>FILE<TAB>FUNCTION<TAB>LINE<TAB>ALLOCS<TAB>BYTES<TAB>FREES');
    const [, file, fn, lineNo, allocs, bytes, frees] = match;
    const outside = file === '-';
    this.result.samples.push({
      frames: outside ? [{ name: '[outside Python frames]' }] : [{ name: file! }, { name: `${fn} (line ${lineNo})` }],
      values: { allocs: Number(allocs), allocBytes: Number(bytes), frees: Number(frees) },
    });
  }

  finish(): PyMallocDtrace {
    return this.result;
  }
}

/**
 * What a finished output says about a program that ran but saw nothing it was written for. dtrace -Z
 * lets both run silently (measured under DTrace for Linux):
 * - no allocator call at all: the pid provider matched no allocator module (the checked-in program
 *   names libsystem_malloc.dylib; on Linux it must be rendered with --lib libc.so.6);
 * - calls, all outside Python frames: the CPython has no python provider (pyenv's 3.12.1, built
 *   without --with-dtrace; without -Z dtrace refuses: "probe description pythonPID:::function-entry
 *   does not match any probes"), or every function ran from before the attach to the end.
 */
export function pyMallocDtraceNotes(result: PyMallocDtrace): string[] {
  if (!result.ended) return [];
  if (result.samples.length === 0) {
    return [
      'no malloc, calloc, realloc or free call was counted: the pid provider matched no allocator. ' +
        'The program names one module (libsystem_malloc.dylib as checked in); on Linux render it with ' +
        'memtrace scripts pymalloc --lib libc.so.6',
    ];
  }
  if (result.samples.some((sample) => sample.frames.length > 1)) return [];
  return [
    'no allocation or free was seen inside a Python function: the python provider never fired. ' +
      'Its CPython lacks it (built without --with-dtrace; 3.12 to 3.14 have no function-entry), ' +
      'or every function ran from before the attach to the end',
  ];
}

/** Whether the head of a log is the Python flow program's output. */
export function looksLikePyMallocDtrace(text: string): boolean {
  return /^memtrace:begin pymalloc$/m.test(text) || /^py\t[^\t]*\t[^\t]*\t\d+\t\d+\t\d+\t\d+$/m.test(text);
}
