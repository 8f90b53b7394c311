// Renders a CallsSpec as a bpftrace program (bpftrace 0.17 and later).
//
// Every probe hit reads RSS from the task's memory counters (curtask->mm->rss_stat: file, anon and
// shmem pages; BTF) — no /proc read, no trip to user space — and is printed only when RSS moved by
// at least the trigger since the last printed event. Before such an event the one just before it is
// printed too, as context (cPyMemTrace's PREV), unless it was printed already; at the end the last
// event seen is printed (LAST). Records, tab-separated, after "memtrace:begin calls":
//   memtrace:calls TRIGGER PAGE LINES          the options (LINES: 1 when the line probe is on)
//   memtrace:func ID LIBRARY SYMBOL            one per native function, before any event
//   E SEQ KIND RSS LINE FILE FUNCTION          a Python event (KIND 1 call, 2 return)
//   E SEQ KIND RSS ID                          a native event (KIND 3 entry, 4 return)
//   P …, L …                                   the same fields: context before an E, the last event
//   memtrace:end SEEN PRINTED LINES            events seen, records printed, line events counted
// SEQ numbers every event seen. bpftrace reads its per-CPU buffers in turn, so records of a
// process that moved between CPUs may arrive out of order: SEQ puts them back.
//
// Every interpolated value comes from a validated CallsSpec: numbers are integers, paths and
// symbols match the strict grammars of validate.ts.
import type { CallsSpec } from './calls-spec.js';
import { indent, probe, usdtPath } from './render-malloc-bpf.js';

export const CALLS_BEGIN_MARKER = 'memtrace:begin calls';
export const CALLS_OPTIONS_MARKER = 'memtrace:calls';
export const CALLS_FUNC_MARKER = 'memtrace:func';
export const CALLS_END_MARKER = 'memtrace:end';

export const KIND_CALL = 1;
export const KIND_RETURN = 2;
export const KIND_NATIVE_ENTRY = 3;
export const KIND_NATIVE_RETURN = 4;

const SCRATCH_MAPS = ['@seq', '@printed', '@logged_rss', '@logged_seq', '@prev', '@prev_seq'];

export function renderCallsBpf(spec: CallsSpec): string {
  const pidFilter = `pid == ${spec.pid === null ? '$1' : String(spec.pid)}`;
  const lines = spec.python?.lines === true;
  const blocks: string[] = [];
  blocks.push(
    'BEGIN\n{\n' +
      indent([
        `printf("${CALLS_BEGIN_MARKER}\\n");`,
        // Typed here, before any probe reads it (bpftrace types a map at its first use in the program).
        '@prev = ((int64)0, (uint64)0, (uint64)0, (int64)0, (int64)0);',
        `printf("${CALLS_OPTIONS_MARKER} ${spec.triggerBytes} ${spec.pageSize} ${lines ? 1 : 0}\\n");`,
        ...spec.functions.map((fn) => `printf("${CALLS_FUNC_MARKER} ${fn.id} ${fn.library} ${fn.symbol}\\n");`),
      ]).join('\n') +
      '\n}',
  );

  if (spec.python !== null) {
    const binary = usdtPath(spec.python.binary, spec.pid);
    // arg0 file, arg1 function (C strings in the interpreter's code object), arg2 line.
    const args = '(uint64)arg0, (uint64)arg1, (int64)arg2';
    blocks.push(probe(`usdt:${binary}:python:function__entry`, pidFilter, eventBody(spec, KIND_CALL, args)));
    blocks.push(probe(`usdt:${binary}:python:function__return`, pidFilter, eventBody(spec, KIND_RETURN, args)));
    if (lines) blocks.push(probe(`usdt:${binary}:python:line`, pidFilter, ['@lines = @lines + 1;']));
  }
  for (const fn of spec.functions) {
    const args = `(uint64)${fn.id}, (uint64)0, (int64)0`;
    blocks.push(probe(`uprobe:${fn.library}:${fn.symbol}`, pidFilter, eventBody(spec, KIND_NATIVE_ENTRY, args)));
    blocks.push(probe(`uretprobe:${fn.library}:${fn.symbol}`, pidFilter, eventBody(spec, KIND_NATIVE_RETURN, args)));
  }

  if (spec.durationMs !== null) blocks.push(`interval:ms:${spec.durationMs}\n{\n  exit();\n}`);

  const maps = [...SCRATCH_MAPS, ...(lines ? ['@lines'] : [])];
  blocks.push(
    'END\n{\n' +
      indent([
        // The last event seen, unless it was printed already (cPyMemTrace's LAST).
        'if (@prev_seq != 0 && @prev_seq != @logged_seq) {',
        ...indent(printRecord(spec, 'L', '@prev_seq', '@prev')),
        '}',
        `printf("${CALLS_END_MARKER} %d %d %d\\n", @seq, @printed, ${lines ? '@lines' : '0'});`,
        ...maps.map((name) => `clear(${name});`),
      ]).join('\n') +
      '\n}',
  );
  return `${blocks.join('\n\n')}\n`;
}

/** The body shared by every probe: count, read RSS, print when it moved, keep the event as the next context. */
function eventBody(spec: CallsSpec, kind: number, args: string): string[] {
  const print = [
    // The event before this one, as context, when it was not printed itself.
    'if (@prev_seq != 0 && @prev_seq != @logged_seq) {',
    ...indent(printRecord(spec, 'P', '@prev_seq', '@prev')),
    '}',
    ...printRecord(spec, 'E', '@seq', '$event'),
    '@logged_rss = $rss;',
    '@logged_seq = @seq;',
  ];
  const moved =
    spec.triggerBytes === 0
      ? null
      : `@logged_seq == 0 || $rss - @logged_rss >= ${spec.triggerBytes} || @logged_rss - $rss >= ${spec.triggerBytes}`;
  return [
    `$rss = ${rssExpression(spec)};`,
    '@seq = @seq + 1;',
    `$event = (${kind}, ${args}, $rss);`,
    ...(moved === null ? print : [`if (${moved}) {`, ...indent(print), '}']),
    '@prev = $event;',
    '@prev_seq = @seq;',
  ];
}

/** Prints one record from an event tuple (kind, a0, a1, a2, rss): Python events carry strings, native ones an id. */
function printRecord(spec: CallsSpec, tag: 'E' | 'P' | 'L', seq: string, tuple: string): string[] {
  const python = `printf("${tag}\\t%d\\t%d\\t%d\\t%d\\t%s\\t%s\\n", ${seq}, ${tuple}.0, ${tuple}.4, ${tuple}.3, str(${tuple}.1), str(${tuple}.2));`;
  const native = `printf("${tag}\\t%d\\t%d\\t%d\\t%d\\n", ${seq}, ${tuple}.0, ${tuple}.4, ${tuple}.1);`;
  const lines = [`@printed = @printed + 1;`];
  if (spec.python !== null && spec.functions.length > 0) {
    // A tuple variable cannot be assigned from a map in every bpftrace version: read the fields in place.
    lines.push(`if (${tuple}.0 <= ${KIND_RETURN}) {`, `  ${python}`, '} else {', `  ${native}`, '}');
  } else {
    lines.push(spec.python !== null ? python : native);
  }
  return lines;
}

/** Resident pages (file + anon + shmem, as VmRSS counts them) × page size. */
function rssExpression(spec: CallsSpec): string {
  const count = (index: number) => `curtask->mm->rss_stat[${index}].count`;
  return `(${count(0)} + ${count(1)} + ${count(3)}) * ${spec.pageSize}`;
}
