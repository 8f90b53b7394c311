// The tests' one stand-in bpftrace: test/fixtures/fake-bpftrace/bpftrace.cjs, run in a mode. A test
// that gives memtrace a tracer path (--tracer-path, PATH, a feature probe) gets a wrapper script
// that runs the fake with its mode and settings; tests that drive memtrace's environment
// (test/faults/fake-tracer.test.ts) may instead give the fake's path and FAKE_BPFTRACE_* directly.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from './workloads.js';

export const FAKE_BPFTRACE = fixture('fake-bpftrace/bpftrace.cjs');

export interface FakeBpftraceSettings {
  /** The mode (the fake's header lists them); none: it only answers --version. */
  mode?: 'deaf' | 'fail' | 'silent-0' | 'silent-1' | 'hang' | 'late-end';
  /** What --version prints; bpftrace 0.17's `bpftrace v0.17.0` by default. */
  version?: string;
  /** What the `fail` mode prints on standard error. */
  error?: string;
}

/** A fresh executable named `bpftrace` that runs the fake with these settings. */
export function fakeBpftrace(settings: FakeBpftraceSettings = {}): string {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-fake-')), 'bpftrace');
  const env = {
    FAKE_BPFTRACE_MODE: settings.mode ?? 'silent-1',
    ...(settings.version === undefined ? {} : { FAKE_BPFTRACE_VERSION: settings.version }),
    ...(settings.error === undefined ? {} : { FAKE_BPFTRACE_ERROR: settings.error }),
  };
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellQuote(value)}`);
  writeFileSync(
    path,
    `#!/bin/sh\nexport ${assignments.join(' ')}\nexec ${shellQuote(process.execPath)} ${shellQuote(FAKE_BPFTRACE)} "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
