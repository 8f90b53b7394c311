// Reads the lines a ustack helper adds to DTrace's printed stacks: what `ustack()` and `jstack()`
// print for the frames of a language runtime (Python, Node) that ships a helper.
//
// Reference: libdtrace's dt_consume.c, dt_print_ustack (illumos; macOS and DTrace for Linux carry
// the same code). For each frame the helper may return a string:
//   - starting with `@`: an annotation, printed on its own line *below* the frame line, indented two
//     more than the frames and in brackets: `  [ TEXT ]`. CPython's helper (Solaris, illumos)
//     annotates the interpreter's frame with the Python function it runs, `FILE:LINE (FUNCTION)`;
//     `(?)` is Python 2's module-level code:
//                 libpython2.4.so.1.0`PyEval_EvalFrame+0xbdf
//                   [ /usr/lib/python2.4/site.py:202 (addsitepackages) ]
//   - anything else: printed *in place of* the frame, at the frames' indent. Node's helper
//     (src/v8ustack.d, Node 0.6 to 11) names JavaScript frames `NAME at FILE line N` (`pos N`, or
//     `position N` in its early versions, when V8 had not yet computed the file's line ends; no
//     ` at FILE` for code without a script), `(anon) as INFERRED` for anonymous functions, and V8's
//     own frames `<< entry >>`, `<< adaptor >>`, `<< internal code >>`, `<< stub >>`…:
//                 << internal code >>
//                 (anon) as Server.emit at events.js line 88
//                 node`_ZN2v88internalL6InvokeEbNS0_6HandleINS0_10JSFunctionEEE…+0x101
// Java's helper (jstack()) prints JVM method names in place of frames the same way.
//
// The annotation belongs to the frame above it; memtrace keeps both, in the order DTrace prints
// them (as FlameGraph's stackcollapse.pl does): root first, the Python function is the caller of
// the interpreter frame that runs it, so its width in a flame graph is everything that function
// allocated, and the native frames stay for whoever reads the interpreter.
import type { Frame } from '../model/stack-profile.js';

/** `[ TEXT ]`, as dt_print_ustack prints an annotation (any indent: 16 under ustack(), 2 under printa's %k). */
const ANNOTATION = /^\s*\[ (.*) \]\s*$/;
/** CPython's helper's annotation text: `FILE:LINE (FUNCTION)`. */
const PYTHON_ANNOTATION = /^(.+):(\d+) \((.*)\)$/;
/** V8's frame types: `<< internal code >>`. */
const V8_FRAME_TYPE = /^<< [a-z_ ]+ >>$/;
/** A JavaScript function: `NAME at FILE line N`, `… pos N`, `… position N`, or `NAME at FILE`. */
const V8_FUNCTION = /^(\S.*?) at (\S.*?)(?: (line|pos|position) (\d+))?$/;

/** Whether a line opens a ustack helper's annotation (`[`), closed or not. */
export function isDtraceAnnotationLine(line: string): boolean {
  return /^\s*\[/.test(line);
}

/**
 * The frame of an annotation line, or null when the line is a `[` without its ` ]` (cut or
 * garbled). An annotation not of CPython's shape is kept as its text.
 */
export function parseDtraceAnnotation(line: string): Frame | null {
  const annotation = ANNOTATION.exec(line);
  if (!annotation) return null;
  const text = annotation[1]!.trim();
  const python = PYTHON_ANNOTATION.exec(text);
  if (!python) return { name: text === '' ? '?' : text };
  return { name: python[3]! === '' ? '?' : python[3]!, kind: 'python', source: { file: python[1]!, line: Number(python[2]) } };
}

/**
 * Whether a frame line is one of Node's helper's strings. Asked where the line could also be an
 * aggregation's key: a JavaScript leaf frame `foo at /app.js line 12` ends with a number, as
 * `KEY VALUE` lines do.
 */
export function isV8HelperFrame(line: string): boolean {
  const text = line.trim();
  return V8_FRAME_TYPE.test(text) || (V8_FUNCTION.test(text) && !text.includes('`'));
}

/** The frame of a string a ustack helper printed in place of a native frame (Node's, Java's, another's). */
export function parseDtraceHelperFrame(printed: string): Frame {
  const text = printed.trim();
  if (V8_FRAME_TYPE.test(text)) return { name: text, kind: 'js' };
  const js = V8_FUNCTION.exec(text);
  if (!js) return { name: text };
  const [, name, file, unit, number] = js;
  if (unit === undefined) return { name: name!, kind: 'js', source: { file: file! } };
  return {
    name: name!,
    kind: 'js',
    source: unit === 'line' ? { file: file!, line: Number(number) } : { file: file!, position: Number(number) },
  };
}
