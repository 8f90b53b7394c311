// What the installed bpftrace can do, found by asking it (`--info`, `--help`), not by its version
// number: Debian 12's 0.17 and Debian 13's 0.23 differ in ways that change where memtrace probes and
// what it costs, and a distribution's build can leave a feature out whatever the version says.
//
//   offset uprobes   `uprobe:LIB:free+9`. bpftrace checks that an offset lands on an instruction with
//                    libbfd's disassembler and refuses offsets when built without it: `--info` says
//                    `bfd: yes|no` (0.17 on Debian: no; 0.23: yes).
//   per-PID uprobes  with `-p PID`, uprobes attached for that process only, so other users of a
//                    probed library do not trap. 0.23 does it through the kernel's uprobe_multi link,
//                    which `--info` lists as `uprobe_multi: yes`; 0.17 attaches to the file for every
//                    process and filters after the trap (measured: docs/compat.md).
//   setting names    0.23 renamed BPFTRACE_MAP_KEYS_MAX and BPFTRACE_STRLEN (the old names still work
//                    but print a deprecation warning on every run); `--help` lists the names it reads.
//   stack modes      `BPFTRACE_STACK_MODE` (0.23) sets ustack's output format globally; both take
//                    `ustack(perf, N)`, which memtrace's standalone scripts use.
//   DWARF stacks     `dw_ustack()` (0.26, x86_64, built with LLVM 21 or later) unwinds user stacks
//                    with .eh_frame in the kernel, through code built without frame pointers (most
//                    of a distribution's binaries); `--info` says `dwunwind (DWARF stack unwinding): yes`.
//   map declarations `let @m = percpuhash(N);` gives one map its own capacity (0.27; 0.17 and 0.23
//                    refuse the syntax). Without it every map takes BPFTRACE_MAP_KEYS_MAX, and the
//                    kernel preallocates each per-CPU map (count(), sum(), hist()) whole, on every CPU:
//                    a per-function counter then costs as much as the stack maps (docs/performance.md).
//                    Neither --info nor --help says so: memtrace asks bpftrace to compile one (--dry-run).
import { spawn } from 'node:child_process';

export interface BpftraceFeatures {
  offsetUprobes: boolean;
  pidScopedUprobes: boolean;
  /** The name this bpftrace reads for each setting memtrace uses, keyed by the 0.17 name. */
  settingNames: Readonly<Record<string, string>>;
  /** ustack output formats this bpftrace knows. */
  stackModes: readonly string[];
  /** dw_ustack(): user stacks unwound with DWARF call-frame information, in the kernel. */
  dwarfStacks: boolean;
  /** `let @m = percpuhash(N);`: a map declared with a capacity of its own. */
  mapDeclarations: boolean;
}

/** What memtrace assumes of a bpftrace it could not ask (bpftrace 0.17's abilities: the oldest supported). */
export const BASELINE_FEATURES: BpftraceFeatures = {
  offsetUprobes: false,
  pidScopedUprobes: false,
  settingNames: {},
  stackModes: ['bpftrace', 'perf'],
  dwarfStacks: false,
  mapDeclarations: false,
};

/** How long each question may take (`--info` and `--help` answer in under 0.1 s here, 0.27's `--dry-run` in 0.3 s). */
const PROBE_TIMEOUT_MS = 5_000;

/** 0.17 names → the names bpftrace 0.20 and later read. */
const RENAMED_SETTINGS: Readonly<Record<string, string>> = {
  BPFTRACE_MAP_KEYS_MAX: 'BPFTRACE_MAX_MAP_KEYS',
  BPFTRACE_STRLEN: 'BPFTRACE_MAX_STRLEN',
  BPFTRACE_CAT_BYTES_MAX: 'BPFTRACE_MAX_CAT_BYTES',
};

/**
 * The program memtrace asks bpftrace to compile (`--dry-run`: compiled and checked, never loaded) to
 * learn whether it takes map declarations. 0.17 has no --dry-run and 0.23 refuses `let`: both fail.
 */
export const MAP_DECLARATION_PROBE = 'let @memtrace_declared = percpuhash(2); BEGIN { @memtrace_declared[1] = count(); }';

/**
 * Reads the features from the text of `bpftrace --info` and `bpftrace --help` (either may be empty),
 * and whether it compiled MAP_DECLARATION_PROBE.
 */
export function parseBpftraceFeatures(info: string, help: string, compiledDeclaration = false): BpftraceFeatures {
  // 0.23 prints its feature table in two columns ("kprobe_multi: no    uprobe_multi: yes").
  // A build line may carry a description before its colon ("dwunwind (DWARF stack unwinding): yes").
  const flag = (name: string) => new RegExp(`(?:^|\\s)${name}(?: \\([^)\\n]*\\))?:\\s*yes\\b`, 'm').test(info);
  const listed = (setting: string) => new RegExp(`^\\s*${setting}\\b`, 'm').test(help);
  const settingNames: Record<string, string> = {};
  // bpftrace 0.25 and later list no environment settings in --help at all (they became config
  // options), and read only the new names: 0.27 ignored BPFTRACE_MAP_KEYS_MAX (measured: a map of 5
  // keys took 7), so a help that lists no BPFTRACE_ setting is taken to read the new names.
  const listsNoSetting = help.trim() !== '' && /\busage\b/i.test(help) && !/^\s*BPFTRACE_[A-Z_]+\b/m.test(help);
  for (const [old, renamed] of Object.entries(RENAMED_SETTINGS)) {
    if ((listed(renamed) && !listed(old)) || listsNoSetting) settingNames[old] = renamed;
  }
  return {
    offsetUprobes: flag('bfd'),
    pidScopedUprobes: flag('uprobe_multi'),
    settingNames,
    stackModes: listed('BPFTRACE_STACK_MODE') || listsNoSetting ? ['bpftrace', 'perf', 'raw'] : BASELINE_FEATURES.stackModes,
    dwarfStacks: flag('dwunwind'),
    mapDeclarations: compiledDeclaration,
  };
}

/** Asks the bpftrace at `path`; a question it cannot answer leaves that feature at the baseline. */
export async function probeBpftraceFeatures(path: string, env: NodeJS.ProcessEnv = process.env): Promise<BpftraceFeatures> {
  const [info, help, declaration] = await Promise.all([
    askTracer(path, ['--info'], env),
    askTracer(path, ['--help'], env),
    askTracer(path, ['--dry-run', '-e', MAP_DECLARATION_PROBE], env),
  ]);
  return parseBpftraceFeatures(info.text, help.text, declaration.exitCode === 0);
}

/**
 * What the tracer prints for one question, stdout and stderr together (--help exits 1 on some
 * versions, --info fails in part without root: the text is what counts), and its exit code (null when
 * it could not run or was given up on). A tracer that hangs is given up on after PROBE_TIMEOUT_MS,
 * with its whole process group (a child of it may hold the output open).
 */
function askTracer(path: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ text: string; exitCode: number | null }> {
  return new Promise((resolve) => {
    let text = '';
    let exitCode: number | null = null;
    const child = spawn(path, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const finish = () => {
      clearTimeout(timer);
      resolve({ text, exitCode });
    };
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      finish();
    }, PROBE_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.once('error', finish);
    child.once('close', (code) => {
      exitCode = code;
      finish();
    });
  });
}

/** The settings for bpftrace's environment under the names this bpftrace reads. */
export function settingsFor(features: BpftraceFeatures, settings: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([name, value]) => [features.settingNames[name] ?? name, value]));
}

/** One line per feature, for `--print-script` comments, report headers and docs/compat.md's checks. */
export function describeFeatures(features: BpftraceFeatures): string[] {
  return [
    `offset uprobes: ${features.offsetUprobes ? 'yes' : 'no'}`,
    `per-PID uprobes: ${features.pidScopedUprobes ? 'yes' : 'no (uprobes trap in every process using the file)'}`,
    `map size setting: ${features.settingNames.BPFTRACE_MAP_KEYS_MAX ?? 'BPFTRACE_MAP_KEYS_MAX'}`,
    `ustack modes: ${features.stackModes.join(', ')}`,
    `DWARF stacks (dw_ustack): ${features.dwarfStacks ? 'yes' : 'no (stacks walk frame pointers only)'}`,
    `map declarations: ${features.mapDeclarations ? 'yes' : 'no (every map takes the one size setting)'}`,
  ];
}
