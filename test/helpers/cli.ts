// Runs memtrace's built command line (dist/, built by `npm test`) as a user would.
import { execa, type Options } from 'execa';
import { ROOT } from './workloads.js';

export const MEMTRACE_BPF = `${ROOT}bin/memtrace-bpf.js`;
export const MEMTRACE = `${ROOT}bin/memtrace.js`;
export const MEMTRACE_DTRACE = `${ROOT}bin/memtrace-dtrace.js`;
/** The directory of the fake dtrace (test/fixtures/dtrace/fake/dtrace), to put first on PATH. */
export const FAKE_DTRACE_DIRECTORY = `${ROOT}test/fixtures/dtrace/fake`;

/**
 * The execa options the CLI helpers accept. Only options that leave the result's type alone: a
 * plain `Options` (with `encoding`, `lines`, `stdout`, `buffer`...) would widen `stdout` and
 * `stderr` to `string | string[] | Uint8Array | undefined` in every caller.
 */
export type CliOptions = Pick<
  Options,
  'env' | 'extendEnv' | 'cwd' | 'timeout' | 'stdin' | 'input' | 'uid' | 'gid' | 'stripFinalNewline' | 'killSignal' | 'cancelSignal'
>;

/**
 * How every memtrace of the tests runs. A test's SIGTERM (`subprocess.kill()`) is memtrace's to
 * handle: execa's default would SIGKILL it 5 s later, before a loaded machine's bpftrace 0.17 has
 * even detached its probes, and the test would see memtrace killed instead of its report.
 */
const RUN = { reject: false, all: false, timeout: 120_000, forceKillAfterDelay: 30_000 } as const;

export function memtrace(args: string[], options: CliOptions = {}) {
  return execa(process.execPath, [MEMTRACE_BPF, ...args], { ...RUN, ...options });
}

/** The `memtrace` command (backend chosen by platform), for the tools that need no tracer. */
export function memtraceAuto(args: string[], options: CliOptions = {}) {
  return execa(process.execPath, [MEMTRACE, ...args], { ...RUN, ...options });
}

/**
 * `memtrace-dtrace`, with the fake dtrace first on PATH and its scenario chosen. No private root: its
 * dtrace (setup-bpftrace --include-dtrace) would come before PATH.
 */
export function memtraceDtrace(args: string[], scenario = 'replay', options: CliOptions = {}) {
  return execa(process.execPath, [MEMTRACE_DTRACE, ...args], {
    ...RUN,
    ...options,
    env: {
      PATH: `${FAKE_DTRACE_DIRECTORY}:${process.env.PATH ?? ''}`,
      MEMTRACE_BPFTRACE_ROOT: '',
      FAKE_DTRACE_SCENARIO: scenario,
      ...(options.env ?? {}),
    },
  });
}

/** Resolves when `stream` has printed a line matching `pattern`. */
export function waitForLine(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; saw:\n${seen}`)), timeoutMs);
    stream.on('data', (chunk: Buffer | string) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}
