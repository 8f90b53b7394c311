// traceAllocations (memtrace-bpf malloc): the traced span it reports. Found by bench/soak.js: an
// 8 s `-d` trace of a node server said "48.3 s", because the figure ran from memtrace's start
// (attaching to node's 98 MB binary) to after the symbols were read.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { MallocProfile } from '../../../src/model/malloc-profile.js';
import { liveTest } from '../../helpers/live.js';
import { memtrace } from '../../helpers/cli.js';

liveTest("durationSeconds is the time traced (attach to end), not memtrace's wall time", async (t) => {
  // node, because attaching to it and reading its symbols take seconds: the old figure included both.
  const target = execa(process.execPath, ['-e', 'setInterval(() => JSON.parse(JSON.stringify({ a: [1, 2, 3] })), 5)'], { reject: false });
  const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'report.json');
  try {
    const started = Date.now();
    const traced = await memtrace(['malloc', '-p', String(target.pid), '-d', '2s', '-o', output]);
    const wallSeconds = (Date.now() - started) / 1000;
    t.is(traced.exitCode, 0, traced.stderr);
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    // From the BEGIN line to the END line: bpftrace 0.17 runs BEGIN before its uprobes are all
    // attached, and the program's 2 s timer starts after them, so about 2 s more here (measured 3.95).
    t.true(
      profile.durationSeconds! >= 2 && profile.durationSeconds! < 6,
      `durationSeconds ${profile.durationSeconds}, wall ${wallSeconds} s`,
    );
    t.true(wallSeconds > profile.durationSeconds! + 0.5, `wall ${wallSeconds} s: attach and symbols took no time, the test shows nothing`);
  } finally {
    target.kill('SIGTERM');
    await target;
  }
});
