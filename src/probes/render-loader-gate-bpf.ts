// The loader gate: a short bpftrace program that stops a launched command once its dynamic loader
// has mapped the libraries it needs, before any of their code (constructors included) has run.
//
// Why: bpftrace's dw_ustack unwinds with tables it builds from the target's memory maps when it
// starts. memtrace holds a launched command in a shell shim until the probes are attached; a trace
// started on the shim knows only the shim's maps, and after the exec every stack stops at its first
// frame (measured: `<unwind failure>` after the leaf). So for a DWARF trace the command is first let
// run up to this gate, and the trace starts on the stopped command, whose maps are then its own.
//
// Where: glibc's loader calls _dl_debug_state (the debugger's r_brk hook) once before it maps the
// initial libraries (RT_ADD) and once after (RT_CONSISTENT), then relocates and runs constructors;
// the second call is the gate. A statically linked command has no loader: it is stopped at its exec.
// Libraries opened later (dlopen) have no tables in the trace; the report says so when stacks stop.
import { validatePid, validateProbePath } from './validate.js';

export const LOADER_GATE_MARKER = 'memtrace:gated';
export const LOADER_GATE_ARMED_MARKER = 'memtrace:gate-armed';

export interface LoaderGateSpec {
  pid: number;
  /** The command's program interpreter (PT_INTERP), or null when it is statically linked. */
  interpreter: string | null;
}

export function renderLoaderGateBpf(spec: LoaderGateSpec): string {
  const pid = validatePid(spec.pid);
  const stop = [`printf("${LOADER_GATE_MARKER} %d\\n", pid);`, 'signal("SIGSTOP");', 'exit();'];
  const begin = `BEGIN\n{\n  printf("${LOADER_GATE_ARMED_MARKER}\\n");\n}`;
  if (spec.interpreter === null) {
    return `${begin}\n\ntracepoint:sched:sched_process_exec\n/pid == ${pid}/\n{\n${stop.map((line) => `  ${line}`).join('\n')}\n}\n`;
  }
  const loader = validateProbePath('program interpreter', spec.interpreter);
  return (
    `${begin}\n\nuprobe:${loader}:_dl_debug_state\n/pid == ${pid}/\n{\n` +
    ['@calls = @calls + 1;', 'if (@calls == 2) {', ...stop.map((line) => `  ${line}`), '}'].map((line) => `  ${line}`).join('\n') +
    '\n}\n\nEND\n{\n  clear(@calls);\n}\n'
  );
}
