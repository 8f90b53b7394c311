// The calls tool: RSS at every Python function call and return (the interpreter's USDT probes) and
// either side of chosen native functions (--func), logged when RSS moved by at least the trigger —
// pymemtrace's cPyMemTrace, with RSS read inside the probe instead of from /proc per event.
// Composes interpreter detection → spec → program → session → parser → call-log reports.
import { readdir, readFile, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { TargetError, TracerError, UsageError } from '../../errors.js';
import { openOutputStream } from '../common/output-file.js';
import { buildCallsSpec, globToRegExp, type CallsSpec, type FunctionPattern, type PythonProbes } from '../../probes/calls-spec.js';
import { validateSymbol } from '../../probes/validate.js';
import { renderCallsBpf } from '../../probes/render-calls-bpf.js';
import { CALLS_RAW_HEADER_TYPE, CallsLogParser, type CallsRawHeader } from '../../parse/calls-log.js';
import { CALL_LOG_REPORTS, type CallLogFormat } from '../../report/call-log-index.js';
import { processExists, tracerComment, type Bpftrace } from '../../run/bpftrace.js';
import { uprobeScopeChoice, warnSharedUprobes } from '../../run/uprobe-scope.js';
import { launchPythonHeld, type HeldPython } from '../../run/python-launch.js';
import { delay, processState, resolveCommand, safeKill } from '../../run/target.js';
import { TraceSession, type SessionEnd, type SessionTarget } from '../../run/trace-session.js';
import { readElf } from '../../symbols/elf.js';
import { readProcMaps, type Mapping } from '../../symbols/proc-maps.js';
import type { CallLog } from '../../model/call-log.js';
import { inspectPythonProcess, planPythonProbes } from './python-interpreter.js';
import { describeSessionLoss } from '../common/session-loss.js';
import { endTrace } from '../common/traced-session.js';
import { checkReportPaths, reportRequestsFor, writeFamilyReports, type ReportRequestOf } from '../common/write-reports.js';
import { startTracing, type TracingOptions } from '../common/tracing.js';

/** The options every tracing tool takes (TracingOptions), and calls's own. */
export interface CallsOptions extends TracingOptions {
  /** -o paths ("-" is stdout) and -f. */
  outputs: string[];
  format: string | null;
  triggerBytes: number;
  functions: FunctionPattern[];
  top: number;
}

export interface ToolIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Library directories searched for a --func library given by file name, for a command not yet running. */
const LIBRARY_DIRECTORIES = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib',
  '/lib',
  '/usr/local/lib',
];
/** bpftrace 0.17 sometimes fails to read a process's USDT notes on the first try ("Error initializing context"). */
const START_ATTEMPTS = 3;
const RETRYABLE_START = /Error initializing context|cannot attach uprobe|Error attaching probe/;
/** bpftrace 0.17 warns so for every str() of a USDT argument; it reads them right all the same. */
const KNOWN_WARNING = /^WARNING: Addrspace is not set$/;
/** File names and function names longer than this are cut in the log (bpftrace's string size). */
const STRING_BYTES = 120;

export async function runCalls(options: CallsOptions, io: ToolIo): Promise<number> {
  const say = (message: string) => io.stderr.write(`memtrace: ${message}\n`);
  const reports = reportRequestsFor(options.outputs, options.format, CALL_LOG_REPORTS);
  await checkReportPaths([...reports.map((report) => report.path), options.rawOut]);
  const bpftrace = await startTracing('calls', options, io);

  // Where the probes go needs the process: an attached one is there; a Python command is launched
  // and held in its start-up (run/python-launch.ts); another command is held before its exec.
  let held: HeldPython | null = null;
  let pid: number | null = null;
  let nativeLaunchPath: string | null = null;
  if (options.target.kind === 'attach') {
    if (!(await processExists(options.target.pid))) throw new TargetError(`no process with PID ${options.target.pid}`);
    pid = options.target.pid;
  } else {
    const path = await resolveCommand(options.target.command[0]!, process.env.PATH ?? '');
    if (await isPythonCommand(path)) {
      if (options.printScript)
        throw new UsageError('--print-script needs -p PID for a Python command (the interpreter is known once it runs)');
      held = await launchPythonHeld({
        command: [path, ...options.target.command.slice(1)],
        env: process.env,
        stdout: reports.some((report) => report.path === null) && !io.stdout.isTTY ? 'stderr' : 'inherit',
      });
      pid = held.pid;
    } else {
      nativeLaunchPath = path;
    }
  }

  try {
    const maps = pid === null ? [] : await readProcMaps(pid).catch(() => [] as Mapping[]);
    const notes: string[] = [];
    let python: PythonProbes | null = null;
    if (pid !== null) {
      const interpreter = await inspectPythonProcess(pid, maps);
      const plan = planPythonProbes(interpreter);
      python = plan.probes;
      notes.push(...plan.notes);
    } else {
      notes.push(`${nativeLaunchPath} is not a Python command: only the --func functions are traced`);
    }
    const functions = await expandFunctions(options.functions, maps, nativeLaunchPath);
    if (python === null && functions.length === 0) {
      throw new TargetError(`nothing to trace: ${notes.join('; ')}`, { exitCode: 5 });
    }
    const spec = buildCallsSpec({
      pid,
      python,
      functions,
      triggerBytes: options.triggerBytes,
      pageSize: pageSize(),
      durationMs: options.durationMs,
    });
    const probedFiles = [...new Set([...(python === null ? [] : [python.binary]), ...functions.map((fn) => fn.library)])];
    const choices = probedFiles.map((file) => uprobeScopeChoice(bpftrace, basename(file)));
    if (options.printScript) {
      io.stdout.write(tracerComment(bpftrace, choices) + renderCallsBpf(spec));
      return 0;
    }
    // A launched Python is held by its PID before it runs a line: the warning names that PID.
    warnSharedUprobes(io.stderr, {
      bpftrace,
      files: probedFiles,
      target: pid === null ? { kind: 'launch' } : { kind: 'attach', pid },
      calls: 'every probed call',
    });
    for (const note of notes) say(note);
    if (functions.length > 0) say(`native functions: ${functions.map((fn) => `${basename(fn.library)}:${fn.symbol}`).join(', ')}`);
    return await traceAndReport({ options, io, bpftrace, choices, spec, held, nativeLaunchPath, notes, reports, say });
  } catch (error) {
    // Refused before tracing (still held): the command has run none of the program's code, so nothing of
    // the user's is lost by ending it (as a held shim is ended); left alone it would run untraced.
    const state = held === null ? null : await processState(held.pid);
    if (held !== null && (state === 'T' || state === 't')) {
      safeKill(held.pid, 'SIGKILL');
      if (held.spawnedPid !== held.pid) safeKill(held.spawnedPid, 'SIGKILL');
      safeKill(held.pid, 'SIGCONT');
    }
    throw error;
  } finally {
    // Whatever happened, a held interpreter is never left stopped.
    if (held !== null) safeKill(held.pid, 'SIGCONT');
  }
}

interface TraceContext {
  options: CallsOptions;
  io: ToolIo;
  bpftrace: Bpftrace;
  choices: string[];
  spec: CallsSpec;
  held: HeldPython | null;
  nativeLaunchPath: string | null;
  notes: string[];
  reports: Array<ReportRequestOf<CallLogFormat>>;
  say: (message: string) => void;
}

async function traceAndReport(context: TraceContext): Promise<number> {
  const { options, io, spec, held, say } = context;
  const startedAt = new Date();
  const raw = options.rawOut === null ? null : openOutputStream(options.rawOut);
  const command = options.target.kind === 'launch' ? options.target.command : undefined;
  let tracedPid: number | null = spec.pid;
  let parser = new CallsLogParser({ file: 'bpftrace output', lenient: true });

  let end: SessionEnd | null = null;
  let session: TraceSession | null = null;
  for (let attempt = 1; end === null; attempt += 1) {
    parser = new CallsLogParser({ file: 'bpftrace output', lenient: true });
    const target: SessionTarget =
      context.nativeLaunchPath !== null && options.target.kind === 'launch'
        ? {
            kind: 'launch',
            command: [context.nativeLaunchPath, ...options.target.command.slice(1)],
            env: process.env,
            stdout: context.reports.some((report) => report.path === null) && !io.stdout.isTTY ? 'stderr' : 'inherit',
            terminal: false,
          }
        : { kind: 'attach', pid: spec.pid! };
    const current = new TraceSession({
      bpftrace: context.bpftrace,
      program: (pid: number) => tracerComment(context.bpftrace, context.choices) + renderCallsBpf({ ...spec, pid }),
      unsafe: false,
      tracerEnv: { BPFTRACE_STRLEN: String(STRING_BYTES), BPFTRACE_PERF_RB_PAGES: spec.triggerBytes === 0 ? '4096' : '256' },
      target,
      durationMs: options.durationMs,
      onStarted: (pid) => {
        tracedPid = pid;
        held?.resume();
        const header: CallsRawHeader = {
          target: targetOf(pid, command),
          start: startedAt.toISOString(),
          host: hostname(),
          notes: context.notes,
        };
        raw?.write(`${JSON.stringify({ type: CALLS_RAW_HEADER_TYPE, data: header })}\n`);
        say(
          `tracing PID ${pid}${options.durationMs === null ? '' : ` for ${options.durationMs / 1000} s`}, logging events when RSS moved by ${spec.triggerBytes === 0 ? 'any amount (--trigger 0: every event)' : `at least ${spec.triggerBytes} bytes`}; Ctrl-C to stop`,
        );
      },
      onLine: (line) => {
        raw?.write(`${line}\n`);
        parser.push(line);
      },
    });
    session = current;
    try {
      end = await current.run();
    } catch (error) {
      const retry = error instanceof TracerError && RETRYABLE_START.test(error.message) && attempt < START_ATTEMPTS;
      if (!retry) throw error;
      say(
        `bpftrace could not attach (${error.message
          .split('\n')
          .find((line) => RETRYABLE_START.test(line))
          ?.trim()}); trying again`,
      );
      await delay(300);
    }
  }
  session!.finish();

  const log = parser.finish({
    header: { target: targetOf(tracedPid, command), start: startedAt.toISOString(), host: hostname() },
    notes: [
      ...context.notes,
      ...whyEmpty(parser, spec),
      ...end.tracerErrors
        .filter((line) => !KNOWN_WARNING.test(line))
        .slice(0, 5)
        .map((line) => `bpftrace: ${line}`),
    ],
    partialReason: describeSessionLoss(end),
  });
  const title = `memtrace calls: PID ${tracedPid}${command === undefined ? '' : ` (${command.join(' ')})`}`;
  return endTrace({
    io,
    end,
    raw,
    records: [],
    writeReports: () => writeFamilyReports(CALL_LOG_REPORTS, log, context.reports, { title, top: options.top }, io),
    partialReason: log.partialReason,
    // A launched Python is held by memtrace, not by the session.
    targetExit: held?.exited ?? end.targetExit,
  });
}

/** An empty log says why. */
function whyEmpty(parser: CallsLogParser, spec: CallsSpec): string[] {
  const log = parser.finish();
  if (log.events.length > 0 || !parser.started) return [];
  const seen = log.tracer?.seenEvents ?? 0;
  if (seen > 0) return [`the probes saw ${seen} events but none reached the log`];
  const what = [
    spec.python === null ? null : 'no Python function was called or returned',
    spec.functions.length === 0 ? null : 'no --func function ran',
  ].filter(Boolean);
  return [
    `no events: ${what.join(' and ')} while tracing (frames already running when tracing starts have no call, and builtin C functions are never seen)`,
  ];
}

function targetOf(pid: number | null, command: string[] | undefined): CallLog['header']['target'] {
  if (pid === null) return null;
  return command === undefined ? { pid } : { pid, command };
}

/** A command is Python when its file (followed through links) is named python…, or is a script run by python. */
async function isPythonCommand(path: string): Promise<boolean> {
  const real = await realpath(path).catch(() => path);
  if (/^python/.test(basename(real)) || /^python/.test(basename(path))) return true;
  const head = await readFile(real)
    .then((bytes) => bytes.subarray(0, 256).toString('latin1'))
    .catch(() => '');
  return head.startsWith('#!') && /python/.test(head.split('\n', 1)[0]!);
}

/**
 * --func patterns expanded against real files and symbols: the library glob against the files the
 * process maps (or, for a command not yet running, its executable and the system's library
 * directories), the symbol glob against the library's ELF function symbols.
 */
async function expandFunctions(
  patterns: FunctionPattern[],
  maps: Mapping[],
  launchPath: string | null,
): Promise<Array<{ library: string; symbol: string }>> {
  const found: Array<{ library: string; symbol: string }> = [];
  for (const pattern of patterns) {
    const libraries = await findLibraries(pattern.library, maps, launchPath);
    if (libraries.length === 0)
      throw new UsageError(
        `--func ${pattern.library}:${pattern.symbol}: no library matches ${pattern.library}${maps.length > 0 ? ' among the files the process maps' : ''}`,
      );
    const symbolPattern = globToRegExp(pattern.symbol);
    let matched = 0;
    for (const library of libraries) {
      const elf = await readElf(library);
      for (const fn of elf.functions) {
        if (!symbolPattern.test(fn.name) || !/^[A-Za-z_][A-Za-z0-9_.]{0,255}$/.test(fn.name)) continue;
        found.push({ library, symbol: validateSymbol('--func', fn.name) });
        matched += 1;
      }
    }
    if (matched === 0)
      throw new UsageError(
        `--func ${pattern.library}:${pattern.symbol}: no function symbol matches ${pattern.symbol} in ${libraries.join(', ')}`,
      );
  }
  return found;
}

async function findLibraries(glob: string, maps: Mapping[], launchPath: string | null): Promise<string[]> {
  if (glob.startsWith('/') && !/[*?]/.test(glob)) return [glob];
  const pattern = globToRegExp(glob);
  const test = (path: string) => pattern.test(glob.includes('/') ? path : basename(path));
  if (maps.length > 0) return [...new Set(maps.map((mapping) => mapping.path).filter((path) => path.startsWith('/') && test(path)))];
  const candidates = launchPath === null ? [] : [await realpath(launchPath).catch(() => launchPath)];
  for (const directory of LIBRARY_DIRECTORIES) {
    for (const name of await readdir(directory).catch(() => [] as string[])) candidates.push(`${directory}/${name}`);
  }
  const matches: string[] = [];
  for (const candidate of candidates.filter(test)) {
    const real = await realpath(candidate).catch(() => null);
    if (real !== null && !matches.includes(real)) matches.push(real);
  }
  return matches;
}

function pageSize(): number {
  // The RSS counters count pages; Linux on x86-64 and most arm64 builds use 4 KiB.
  return 4096;
}
