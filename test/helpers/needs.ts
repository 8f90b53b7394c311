// What a test needs beyond the README's install line: the peers and programs that CI installs
// (.ci/run's apt-get list) but a newcomer may not have. Without one, the test is skipped and its
// title says what to install; under MEMTRACE_REQUIRE_LIVE=1 (CI, which installs everything and
// skips nothing) a missing one fails with the same words.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { gated, type TestFunction } from './gate.js';

export interface Need {
  /** What is missing, as the skip reason names it: a program or a path. */
  what: string;
  present: boolean;
  /** How to get it: the Debian package that brings it, or a command for what Debian has not. */
  install: { debianPackage: string } | { command: string };
}

/** A program on PATH, present when it starts at all (some answer --version with a non-zero status). */
export function program(name: string, debianPackage = name, versionArgs: readonly string[] = ['--version']): Need {
  return { what: name, present: spawnSync(name, versionArgs, { stdio: 'ignore' }).error === undefined, install: { debianPackage } };
}

/** A file at a fixed path: a library, or an interpreter whose exact build the test is about. */
export function file(path: string, debianPackage: string): Need {
  return { what: path, present: existsSync(path), install: { debianPackage } };
}

/** The reason a test cannot run here, or null when everything it needs is present. */
export function missingReason(needs: readonly Need[]): string | null {
  const missing = needs.filter((need) => !need.present);
  if (missing.length === 0) return null;
  const packages = [...new Set(missing.flatMap(({ install }) => ('debianPackage' in install ? [install.debianPackage] : [])))];
  const commands = [...new Set(missing.flatMap(({ install }) => ('command' in install ? [install.command] : [])))];
  const how = [...(packages.length > 0 ? [`apt-get install ${packages.join(' ')}`] : []), ...commands].join('; ');
  return `${missing.map((need) => need.what).join(', ')} not installed (${how})`;
}

/**
 * `base` (test.serial by default, or a gate such as liveTest) when everything in `needs` is present;
 * otherwise the one gate's skip, or its failure under MEMTRACE_REQUIRE_LIVE=1 (gate.ts).
 */
export function needing(needs: readonly Need[], base: TestFunction = test.serial): TestFunction {
  return gated(missingReason(needs), { base });
}

/** Debian's python3.11, with its USDT probes: Debian 12's python3 (other systems may lack it). */
export const DEBIAN_PYTHON = '/usr/bin/python3.11';
export const PYTHON_NEED = file(DEBIAN_PYTHON, 'python3.11');
