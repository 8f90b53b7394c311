// A bpftrace with per-PID uprobes, for tests that compare with the host's 0.17: MEMTRACE_NEWER_BPFTRACE
// (CI: .ci-cache/forky/bpftrace, Debian testing's 0.27 from memtrace setup-bpftrace's kind of root).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './workloads.js';

export function newerBpftrace(): string | null {
  const named = process.env.MEMTRACE_NEWER_BPFTRACE;
  if (named !== undefined && named !== '') return named;
  const cached = join(ROOT, '.ci-cache/forky/bpftrace');
  return existsSync(cached) ? cached : null;
}
