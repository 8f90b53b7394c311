// The one start every bpftrace tool makes (malloc, external, gc, faults, calls): the options they
// all take alike, and the checks before a trace — root (unless the program is only printed), the
// tracer and its features, tracefs mounted.
import { ensureTracefs, findTracer, requireRoot, type Bpftrace } from '../../run/bpftrace.js';
import type { Target } from '../../run/target.js';

/** Where a tool writes: its reports on stdout when asked, everything else on stderr. */
export interface ToolIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The options every tracing tool takes alike, parsed once for all of them (cli/command.ts's parseTracingCommand). */
export interface TracingOptions {
  target: Target;
  durationMs: number | null;
  /** --raw-out: the tracer's output as it came, with memtrace's header and trailer records. */
  rawOut: string | null;
  /** --print-script: print the program and exit, without root and without tracing. */
  printScript: boolean;
  /** --tracer-path: this bpftrace instead of the one memtrace would choose. */
  tracerPath: string | null;
}

/**
 * Root, the tracer, tracefs: what a tool needs before it can trace. With --print-script only the
 * tracer is found (its version decides the program's text), and nothing needs root.
 */
export async function startTracing(tool: string, options: TracingOptions, io: ToolIo): Promise<Bpftrace> {
  if (!options.printScript) requireRoot(tool);
  const bpftrace = await findTracer({ path: options.tracerPath, printScript: options.printScript });
  if (!options.printScript) await ensureTracefs((message) => io.stderr.write(`${message}\n`));
  return bpftrace;
}
