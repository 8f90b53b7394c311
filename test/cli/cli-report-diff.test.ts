// memtrace report --diff BEFORE AFTER [--fail-above N]: what grew between two malloc reports, as a
// CI check. BEFORE is the json report of a real recorded trace; AFTER is it with make_pages grown.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { memtraceAuto } from '../helpers/cli.js';
import { KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';

const MIB = 1024 * 1024;
const directory = mkdtempSync(join(tmpdir(), 'memtrace-diff-'));
const raw = fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson');
const before = join(directory, 'before.json');
const after = join(directory, 'after.json');

test.before(async () => {
  const result = await memtraceAuto(['report', raw, '-o', before]);
  if (result.exitCode !== 0) throw new Error(result.stderr);
  const profile = JSON.parse(readFileSync(before, 'utf8')) as MallocProfile;
  const pages = profile.stacks.find((stack) => stack.frames.at(-1)?.name === 'make_pages')!;
  pages.allocBytes += MIB;
  pages.allocs += 256;
  profile.totals.allocBytes += MIB;
  profile.totals.allocs += 256;
  writeFileSync(after, JSON.stringify(profile, null, 2));
});

test('the function and the stack that grew lead, with before, after and the change', async (t) => {
  const result = await memtraceAuto(['report', '--diff', before, after]);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /^memtrace malloc diff \(allocBytes\): .*before\.json → .*after\.json$/m);
  t.regex(result.stdout, /^Total: 154 KiB → 1\.15 MiB \(\+1\.00 MiB, \+664\.9%\)$/m);
  t.regex(result.stdout, /Functions that grew\n +Change +% +Before +After\n +\+1\.00 MiB +\+882\.8% +116 KiB +1\.11 MiB +make_pages\n/);
  t.regex(result.stdout, /Stacks that grew \(leaf ← callers\)\n.*\n +\+1\.00 MiB .* make_pages ← main/);
  const counts = await memtraceAuto(['report', '--diff', '--value', 'allocs', '-f', 'json', before, after]);
  const diff = JSON.parse(counts.stdout) as { total: { delta: number; before: number }; functions: Array<{ name: string; delta: number }> };
  t.deepEqual(diff.total, { before: KNOWN_TOTALS.allocs, after: KNOWN_TOTALS.allocs + 256, delta: 256 });
  t.deepEqual(diff.functions[0], { name: 'make_pages', before: 29, after: 285, delta: 256 });
});

test('--fail-above: exit 1 when the total grew by more, 0 otherwise; a raw log and its json report do not differ', async (t) => {
  const failing = await memtraceAuto(['report', '--diff', '--fail-above', '512k', before, after]);
  t.is(failing.exitCode, 1);
  t.regex(failing.stderr, /memtrace: allocBytes grew by 1\.00 MiB, more than --fail-above 512k/);
  const passing = await memtraceAuto(['report', '--diff', '--fail-above', '5MiB', before, after]);
  t.is(passing.exitCode, 0, passing.stderr);
  const same = await memtraceAuto(['report', '--diff', '--fail-above', '0', raw, before]);
  t.is(same.exitCode, 0, same.stderr);
  t.regex(same.stdout, /\(\+?0, \+0\.0%\)|\(0, \+0\.0%\)/);
  const shrinking = await memtraceAuto(['report', '--diff', '--fail-above', '0', after, before]);
  t.is(shrinking.exitCode, 0);
  t.regex(shrinking.stdout, /Functions that shrank\n.*\n +-1\.00 MiB .* make_pages/);
});

test('bad input: one file, a garbled report, a process log, --fail-above without --diff, a bad threshold', async (t) => {
  t.regex((await memtraceAuto(['report', '--diff', before])).stderr, /--diff compares two malloc reports or logs, BEFORE and AFTER; got 1/);
  const garbled = join(directory, 'garbled.json');
  writeFileSync(garbled, readFileSync(before, 'utf8').slice(0, 300));
  const cut = await memtraceAuto(['report', '--diff', before, garbled]);
  t.is(cut.exitCode, 3);
  t.regex(cut.stderr, /garbled\.json:\d+: not valid memtrace malloc json report: expected valid JSON \(is the file cut short\?\)/);
  const process = await memtraceAuto(['report', '--diff', before, fixture('process/node-rss-steps.jsonl')]);
  t.is(process.exitCode, 2);
  t.regex(process.stderr, /--diff compares malloc reports or logs; .*node-rss-steps\.jsonl is a process log/);
  const alone = await memtraceAuto(['report', '--fail-above', '1k', before]);
  t.is(alone.exitCode, 2);
  t.regex(alone.stderr, /--fail-above goes with --diff BEFORE AFTER/);
  const threshold = await memtraceAuto(['report', '--diff', '--fail-above', 'lots', before, after]);
  t.is(threshold.exitCode, 2);
  const other = join(directory, 'other.json');
  writeFileSync(other, '{\n  "tool": "process"\n}\n');
  t.regex(
    (await memtraceAuto(['report', '--diff', before, other])).stderr,
    /other\.json:1: not valid memtrace malloc json report: expected a report with "tool": "malloc", "schema": 1/,
  );
});

test('a json report is itself a report input: re-rendered as it was', async (t) => {
  const fromJson = await memtraceAuto(['report', before, '-f', 'json']);
  t.is(fromJson.exitCode, 0, fromJson.stderr);
  t.deepEqual(JSON.parse(fromJson.stdout), JSON.parse(readFileSync(before, 'utf8')));
});
