// The forced-collections target of the gc tests (test/workloads/node/gc-forced.js held in --wait),
// and what an interrupted gc trace of it must report.
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import type { GcLog } from '../../src/model/gc-log.js';
import { waitForLine } from './cli.js';
import { ROOT } from './workloads.js';

export const GC_WORKLOAD = `${ROOT}test/workloads/node/gc-forced.js`;
/** Prime, so that a count that is off by a few cannot pass by accident. */
export const FORCED = 23;

/** The workload held in --wait; killed when the test ends, so that a failed assertion cannot leave it (and the test file) running. */
export async function startWaitingNode(t: ExecutionContext, extra: string[] = []) {
  const target = execa('node', ['--expose-gc', '--trace-gc', GC_WORKLOAD, String(FORCED), '--wait', ...extra], { reject: false });
  t.teardown(() => void target.kill('SIGKILL'));
  const ready = await waitForLine(target.stdout!, /^ready \d+$/);
  return { target, pid: Number(ready.split(' ')[1]) };
}

/**
 * A gc trace stopped by SIGINT after the target printed "done": exit 0, marked interrupted, and
 * every forced collection in it (a failure says which reasons came, and what was lost).
 */
export function checkInterruptedLog(t: ExecutionContext, traced: { exitCode?: number; stderr: unknown }, output: string): GcLog {
  t.is(traced.exitCode, 0, `${traced.stderr}`);
  const log = JSON.parse(readFileSync(output, 'utf8')) as GcLog;
  t.is(log.partialReason, 'interrupted by SIGINT: the collections until then');
  t.is(
    log.collections.filter((collection) => collection.reason === 'testing').length,
    FORCED,
    `reasons ${log.collections.map((collection) => collection.reason).join(' ')}; lost events ${log.lostEvents}`,
  );
  return log;
}
