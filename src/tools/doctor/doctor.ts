// `memtrace doctor`: what this machine's tracers can do, found the way the tools find them, and for
// each thing missing what the user would gain and how to get it. Reads only: it starts no trace,
// and runs the tracers with --version/--info/--help/-V alone, so it runs without root too.
import { release } from 'node:os';
import { MemtraceError } from '../../errors.js';
import { findBpftrace, locateBpftrace, type LocatedBpftrace } from '../../run/bpftrace.js';
import { describeFeatures, type BpftraceFeatures } from '../../run/bpftrace-features.js';
import { findDtrace } from '../../run/dtrace.js';
import { exists } from '../../run/file-access.js';
import { DEFAULT_PRIVATE_ROOT, privateRootDirectory } from '../../run/private-bpftrace.js';
import { SHARED_UPROBE_COST } from '../../run/uprobe-scope.js';

export interface DoctorReport {
  /** linux: bpftrace first, DTrace for Linux beside it; darwin: DTrace, macOS's own, alone. */
  platform: NodeJS.Platform;
  kernel: string;
  root: boolean;
  tracefs: boolean;
  debugfs: boolean;
  bpftrace: { found: true; path: string; foundBy: string; version: string; features: BpftraceFeatures } | { found: false; problem: string };
  dtrace: { found: true; path: string; version: string | null } | { found: false; problem: string };
  /** What is missing, what having it gives, and how to get it. */
  missing: Array<{ what: string; gain: string; remedy: string }>;
  /** Whether a tracing command can run here as things are (a bpftrace found, and root). */
  ready: boolean;
}

const WHY_FOUND: Record<LocatedBpftrace['source'], string> = {
  option: 'given with --tracer-path',
  env: 'named by $MEMTRACE_BPFTRACE',
  'private-root': 'the private root of memtrace setup-bpftrace (it comes before PATH)',
  path: 'the first bpftrace on PATH (no --tracer-path, no $MEMTRACE_BPFTRACE, no private root)',
};

/** The bpftrace the tools would run, found as they find it, with its features; or why there is none. */
async function bpftraceHere(tracerPath: string | null, env: NodeJS.ProcessEnv): Promise<DoctorReport['bpftrace']> {
  try {
    const located = await locateBpftrace({ path: tracerPath ?? undefined, env });
    if (located === null)
      return { found: false, problem: 'no bpftrace: not given with --tracer-path or $MEMTRACE_BPFTRACE, no private root, none on PATH' };
    const bpftrace = await findBpftrace({ path: located.path, env });
    return {
      found: true,
      path: bpftrace.path,
      foundBy: WHY_FOUND[located.source],
      version: bpftrace.version ?? '?',
      features: bpftrace.features,
    };
  } catch (error) {
    if (!(error instanceof MemtraceError)) throw error;
    return { found: false, problem: error.message };
  }
}

/** What macOS users do when DTrace is missing or refused: it ships with the system, behind SIP. */
const MACOS_DTRACE_REMEDY =
  'DTrace ships with macOS at /usr/sbin/dtrace; where System Integrity Protection blocks it, allow it from Recovery: csrutil enable --without dtrace';

export async function examineMachine(options: {
  tracerPath: string | null;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const linux = platform !== 'darwin';
  const setup = `sudo memtrace setup-bpftrace${privateRootDirectory(env) === DEFAULT_PRIVATE_ROOT || privateRootDirectory(env) === null ? '' : ` --dir ${privateRootDirectory(env)}`}`;
  const report: DoctorReport = {
    platform,
    kernel: release(),
    root: process.getuid?.() === 0,
    tracefs: (await exists('/sys/kernel/tracing/uprobe_events')) || (await exists('/sys/kernel/debug/tracing/uprobe_events')),
    debugfs: await exists('/sys/kernel/debug/tracing'),
    bpftrace: linux
      ? await bpftraceHere(options.tracerPath, env)
      : {
          found: false,
          problem:
            'bpftrace runs on Linux only; on macOS memtrace traces with DTrace (memtrace-dtrace, or memtrace, which chooses DTrace there)',
        },
    dtrace: { found: false, problem: '' },
    missing: [],
    ready: false,
  };
  try {
    const dtrace = await findDtrace({ path: undefined, env, platform });
    report.dtrace = { found: true, path: dtrace.path, version: dtrace.version };
  } catch (error) {
    if (!(error instanceof MemtraceError)) throw error;
    report.dtrace = { found: false, problem: error.message };
  }

  const cost = SHARED_UPROBE_COST;
  if (!linux) {
    // No bpftrace features to miss: the tracer there is DTrace alone.
  } else if (!report.bpftrace.found) {
    report.missing.push({
      what: 'bpftrace',
      gain: 'every tracing tool of memtrace-bpf (malloc, external, gc, faults, calls)',
      remedy: `sudo apt-get install bpftrace, or ${setup} for a newer one`,
    });
  } else {
    const features = report.bpftrace.features;
    if (!features.pidScopedUprobes) {
      report.missing.push({
        what: 'per-PID uprobes',
        gain: `attaching (-p PID) traps in the traced process only; without them every process using the probed library traps on each call, about ${cost.usPerCall} µs a call (an untraced neighbour's malloc/free loop ran ${cost.slowdown}× slower; ${cost.measuredOn})`,
        remedy: setup,
      });
    }
    if (!features.offsetUprobes) {
      report.missing.push({
        what: 'offset uprobes',
        gain: 'free probed past its NULL test in the shared libc (free+9): 1.7 µs a call instead of 7.3 at its entry (docs/compat.md), for attached processes too',
        remedy: setup,
      });
    }
    if (!features.dwarfStacks) {
      report.missing.push({
        what: 'DWARF stacks (dw_ustack)',
        gain: "whole stacks through code built without frame pointers (most of a distribution's libraries); frame-pointer stacks stop there",
        remedy: `${setup} (Debian testing's bpftrace, 0.26 or later)`,
      });
    }
    if (!features.mapDeclarations) {
      report.missing.push({
        what: 'map declarations',
        gain: 'the per-function counters and the size histogram sized to their keys; without, every per-CPU map is preallocated at --map-entries on every CPU (kernel memory and start time)',
        remedy: `${setup} (Debian testing's bpftrace, 0.27)`,
      });
    }
  }
  if (!report.dtrace.found) {
    report.missing.push(
      linux
        ? {
            what: 'DTrace',
            gain: 'memtrace-dtrace: malloc and Python tracing through DTrace for Linux (the pid provider), a second tracer to check the first',
            remedy: `${setup} --include-dtrace`,
          }
        : { what: 'DTrace', gain: 'every tracing tool on macOS (memtrace-dtrace malloc, pymalloc)', remedy: MACOS_DTRACE_REMEDY },
    );
  }
  report.ready = (linux ? report.bpftrace.found : report.dtrace.found) && report.root;
  return report;
}

export function renderDoctorReport(report: DoctorReport): string {
  const lines = [`kernel ${report.kernel}`];
  lines.push(report.root ? 'root: yes' : 'root: no — tracing needs root: run the tracing commands with sudo (this report runs without it)');
  if (report.platform !== 'darwin') {
    lines.push(`tracefs: ${report.tracefs ? 'mounted' : 'not mounted (memtrace mounts it at /sys/kernel/tracing when it traces as root)'}`);
    lines.push(
      `debugfs: ${report.debugfs ? 'mounted' : 'not mounted (DTrace for Linux needs it at /sys/kernel/debug; memtrace-dtrace mounts it as root)'}`,
    );
  }
  lines.push('');
  if (report.bpftrace.found) {
    lines.push(`bpftrace ${report.bpftrace.version}: ${report.bpftrace.path}`, `  found as: ${report.bpftrace.foundBy}`);
    for (const line of describeFeatures(report.bpftrace.features)) lines.push(`  ${line}`);
  } else {
    lines.push(`bpftrace: not found — ${report.bpftrace.problem}`);
  }
  lines.push(
    report.dtrace.found
      ? `dtrace ${report.dtrace.version ?? '(version unknown)'}: ${report.dtrace.path}`
      : `dtrace: not found — ${report.dtrace.problem}`,
  );
  lines.push('');
  if (report.missing.length === 0) {
    lines.push('Nothing missing: per-PID uprobes, offset uprobes, DWARF stacks and DTrace are all here.');
  } else {
    lines.push('What a newer tracer would give:');
    for (const item of report.missing) lines.push(`- ${item.what}: ${item.gain}.`, `    to get it: ${item.remedy}`);
  }
  lines.push(
    '',
    report.ready
      ? 'Ready to trace.'
      : `Not ready to trace: ${[report.platform === 'darwin' ? (report.dtrace.found ? null : 'no dtrace') : report.bpftrace.found ? null : 'no bpftrace', report.root ? null : 'not root'].filter(Boolean).join(', ')}.`,
  );
  return `${lines.join('\n')}\n`;
}
