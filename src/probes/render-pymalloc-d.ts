// Renders the Python flow D program: malloc and free calls of a CPython process attributed to the
// Python function running when they happen, through CPython's `python` USDT provider
// (function-entry / function-return; args: file name, function name, line number) and the pid
// provider on the allocator. pymemtrace's D scripts play this role; this program is our own.
//
// D cannot keep a stack of strings per thread, so the program keeps, per (thread, depth), the
// *addresses* the provider passes (the code object's file and function name strings, which live as
// long as the code object) and the line number, and copies the strings in only when an allocation
// is attributed. Aggregations are keyed by (file, function, line) and printed once at END:
//   py<TAB>FILE<TAB>FUNCTION<TAB>LINE<TAB>ALLOCS<TAB>BYTES<TAB>FREES
// Allocations outside any Python frame (start-up, C threads) are keyed by the file "-".
//
// The `line` probe keeps the running frame's line current, so LINE is the line that allocated, not
// the function's first line. It is also what makes the program work at all on CPython 3.11
// (Debian 12's python3.11, measured under DTrace for Linux 2.0.7): there function-entry and
// function-return fire only while `line` is enabled too (enabling it turns the interpreter's tracing
// path on); without it every allocation of a script landed under "-". Its cost is a probe per line
// executed. Where a CPython has no `line` probe, dtrace's -Z lets the program run without it.
import type { MallocSpec } from './malloc-spec.js';
import { clause, pidProviderModule } from './render-malloc-d.js';
import { MALLOC_DONE_MARKER, MALLOC_END_MARKER } from './render-malloc-bpf.js';

export const PY_RECORD = 'py';

export function renderPyMallocD(spec: Pick<MallocSpec, 'pid' | 'library' | 'minSize' | 'durationMs'>): string {
  const target = spec.pid === null ? '$target' : String(spec.pid);
  const module = pidProviderModule(spec.library);
  const alloc = (fn: string) => `pid${target}:${module}:${fn}`;
  const where = (field: 'file' | 'func') =>
    `self->depth > 0 && py${field}[tid, self->depth] != 0 ? copyinstr(py${field}[tid, self->depth]) : "-"`;
  // The running Python frame, copied in once per attributed call.
  const locate = [
    `this->file = ${where('file')};`,
    `this->func = ${where('func')};`,
    'this->line = self->depth > 0 ? pyline[tid, self->depth] : 0;',
  ];
  const key = '[this->file, this->func, this->line]';
  const keep = spec.minSize === null ? '' : ` && self->size >= ${spec.minSize}`;
  const blocks = [
    ['#pragma D option quiet', '#pragma D option dynvarsize=32m', '#pragma D option strsize=256'].join('\n'),
    clause('BEGIN', null, ['printf("memtrace:begin pymalloc\\n");']),
    clause(`python${target}:::function-entry`, null, [
      'self->depth++;',
      'pyfile[tid, self->depth] = arg0;',
      'pyfunc[tid, self->depth] = arg1;',
      'pyline[tid, self->depth] = arg2;',
    ]),
    clause(`python${target}:::line`, 'self->depth > 0', ['pyline[tid, self->depth] = arg2;']),
    clause(`python${target}:::function-return`, 'self->depth > 0', [
      // Assigning 0 frees a dynamic variable: the arrays hold only the frames still running.
      'pyfile[tid, self->depth] = 0;',
      'pyfunc[tid, self->depth] = 0;',
      'pyline[tid, self->depth] = 0;',
      'self->depth--;',
    ]),
    clause(`${alloc('malloc')}:entry`, 'self->alloc_fn == 0', ['self->alloc_fn = 1;', 'self->size = arg0;']),
    clause(`${alloc('calloc')}:entry`, 'self->alloc_fn == 0', ['self->alloc_fn = 2;', 'self->size = arg0 * arg1;']),
    clause(`${alloc('realloc')}:entry`, 'self->alloc_fn == 0', ['self->alloc_fn = 3;', 'self->size = arg1;']),
    ...(['malloc', 'calloc', 'realloc'] as const).flatMap((fn, index) => [
      clause(`${alloc(fn)}:return`, `self->alloc_fn == ${index + 1} && arg1 != 0${keep}`, [
        ...locate,
        `@py_allocs${key} = count();`,
        `@py_bytes${key} = sum(self->size);`,
      ]),
      clause(`${alloc(fn)}:return`, `self->alloc_fn == ${index + 1}`, ['self->alloc_fn = 0;', 'self->size = 0;']),
    ]),
    clause(`${alloc('free')}:entry`, 'self->alloc_fn == 0 && arg0 != 0', [...locate, `@py_frees${key} = count();`]),
  ];
  if (spec.durationMs !== null) blocks.push(clause(`tick-${spec.durationMs}ms`, null, ['exit(0);']));
  blocks.push(
    clause('END', null, [
      `printf("${MALLOC_END_MARKER} %d\\n", timestamp);`,
      `printa("${PY_RECORD}\\t%s\\t%s\\t%d\\t%@d\\t%@d\\t%@d\\n", @py_allocs, @py_bytes, @py_frees);`,
      `printf("${MALLOC_DONE_MARKER}\\n");`,
      'trunc(@py_allocs);',
      'trunc(@py_bytes);',
      'trunc(@py_frees);',
    ]),
  );
  return `${blocks.join('\n\n')}\n`;
}
