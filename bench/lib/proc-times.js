// bench/lib/proc-times.js: CPU times from /proc, for the bench scripts that time the processes they
// wait for (bench/suite-time, bench/map-cost).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc's CPU times (100 on every Linux architecture memtrace runs on). */
export const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * CPU-seconds, user and system, of the children this process has waited for, theirs included
 * (cutime and cstime, fields 16 and 17 of /proc/self/stat).
 */
export function childrenCpuSeconds() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The command name may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[13]) / TICKS, system: Number(fields[14]) / TICKS };
}
