// Live tests run the real bpftrace and need root. Where they cannot run they are skipped with the
// reason logged, unless MEMTRACE_REQUIRE_LIVE=1 (CI), where that is a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { gated, ROOT_PROBLEM } from './gate.js';
import { isHarmlessTracerNotice } from '../../src/run/bpftrace.js';
import { MAP_DECLARATION_PROBE } from '../../src/run/bpftrace-features.js';
import { findPrivateBpftrace } from '../../src/run/private-bpftrace.js';

/**
 * The bpftrace the live tests run, the one memtrace itself finds: MEMTRACE_BPFTRACE when set (the
 * compat run points it at Debian 13's bpftrace, see docs/compat.md), else the private root of
 * `memtrace setup-bpftrace` when there is one, else the one on PATH.
 */
export const LIVE_BPFTRACE = process.env.MEMTRACE_BPFTRACE ?? privateBpftraceOrNull() ?? 'bpftrace';

function privateBpftraceOrNull(): string | null {
  try {
    return findPrivateBpftrace();
  } catch {
    // An untrusted private root: memtrace refuses it, and the tests that run memtrace say so.
    return null;
  }
}

function liveProblem(): string | null {
  if (ROOT_PROBLEM !== null) return ROOT_PROBLEM;
  try {
    execFileSync(LIVE_BPFTRACE, ['--version'], { stdio: 'pipe' });
  } catch {
    return 'bpftrace is not installed';
  }
  return null;
}

export const LIVE_PROBLEM = liveProblem();

/** `test.serial` when bpftrace can run here; otherwise the one gate's skip or failure (gate.ts). */
export const liveTest = gated(LIVE_PROBLEM);

/**
 * Warnings bpftrace 0.25 and later give about how a program is written, not what it does: `while`
 * (deprecated for `for` ranges, which 0.17 lacks), casts 0.17 needs, and delete()'s new return value.
 * memtrace runs its programs with --no-warnings; the compile tests show every other warning.
 */
const STYLE_WARNINGS = ['While loops are deprecated', 'Unnecessary cast', 'Return value discarded'];

/** bpftrace's warnings but its harmless notices (isHarmlessTracerNotice) and newer versions' style warnings. */
export function tracerWarnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.includes('WARNING') && !isHarmlessTracerNotice(line) && !STYLE_WARNINGS.some((style) => line.includes(style)));
}

// --help exits 1 on some versions: the text is what counts.
const LIVE_HELP =
  LIVE_PROBLEM === null ? (({ stdout, stderr }) => `${stdout}${stderr}`)(spawnSync(LIVE_BPFTRACE, ['--help'], { encoding: 'utf8' })) : '';

/**
 * Arguments that make the bpftrace under test compile a program and stop: `--emit-elf FILE` is a dry
 * run in 0.17 (which has no --dry-run); 0.27 goes on to run the program, whatever its help says,
 * unless also told `--dry-run` (0.23 and 0.27 take both and stop). A program that unwinds with DWARF
 * needs a target process: `pid` (any live one) is passed as -p.
 */
export function compileOnlyArgs(objectPath: string, pid: number | null = null): string[] {
  const hasDryRun = /^\s*--dry-run\b/m.test(LIVE_HELP);
  return ['--emit-elf', objectPath, ...(hasDryRun ? ['--dry-run'] : []), ...(pid === null ? [] : ['-p', String(pid)])];
}

/** The bpftrace under test unwinds stacks with DWARF (dw_ustack: `dwunwind: yes` in --info; 0.26 and later). */
export const LIVE_DWARF =
  LIVE_PROBLEM === null && /dwunwind[^:\n]*:\s*yes/.test(spawnSync(LIVE_BPFTRACE, ['--info'], { encoding: 'utf8' }).stdout ?? '');

let mapDeclarations: boolean | undefined;

/**
 * The bpftrace under test takes map declarations (`let @m = percpuhash(N);`: 0.27 here), as memtrace
 * asks it. Asked on first use only: most live test files never need it, and 0.27 takes 0.3 s to answer.
 */
export function liveMapDeclarations(): boolean {
  mapDeclarations ??=
    LIVE_PROBLEM === null && spawnSync(LIVE_BPFTRACE, ['--dry-run', '-e', MAP_DECLARATION_PROBE], { stdio: 'ignore' }).status === 0;
  return mapDeclarations;
}
