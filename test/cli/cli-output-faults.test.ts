// Output faults through the real CLI: a reader closing stdout early, an output directory that is
// read-only before or during the run, a full disk (a small tmpfs, mounted per test). Each case
// checks the exit code, the message (path and cause), what is left on disk, and that what was
// written still re-renders. Runs as root (CI is root): mount needs it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { MEMTRACE, memtrace, memtraceAuto, waitForLine } from '../helpers/cli.js';
import { liveTest } from '../helpers/live.js';
import { buildWorkload, fixture } from '../helpers/workloads.js';

const BIG = fixture('bpftrace/debian12-0.17/maps-spread.text.txt');

function directory(): string {
  return mkdtempSync(join(tmpdir(), 'memtrace-output-faults-'));
}

function smallDisk(t: { teardown(fn: () => void): void }, size: string, options = ''): string {
  const mountPoint = directory();
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${options}`, 'tmpfs', mountPoint]);
  t.teardown(() => execFileSync('umount', [mountPoint]));
  return mountPoint;
}

test('report | head -1: memtrace ends quietly with exit code 0, and its -o file is still written', async (t) => {
  const base = directory();
  // 93 KB of folded stacks: more than a pipe holds, so the write meets the closed pipe.
  const script = `"${process.execPath}" "${MEMTRACE}" report "${BIG}" -f folded -o "${join(base, 'a.json')}" 2>"${join(base, 'stderr')}" | head -1; echo "exit=\${PIPESTATUS[0]}"`;
  const started = Date.now();
  const result = await execa('bash', ['-c', script], { reject: false });
  const lines = `${result.stdout}`.split('\n');
  t.is(lines.length, 2);
  t.regex(lines[0]!, /^\S.* \d+$/);
  t.is(lines[1], 'exit=0');
  t.is(readFileSync(join(base, 'stderr'), 'utf8'), `memtrace: wrote ${join(base, 'a.json')} (json)\n`);
  t.true(JSON.parse(readFileSync(join(base, 'a.json'), 'utf8')) !== null);
  t.true(Date.now() - started < 60_000);
});

test('an output directory that does not exist, or is read-only, is a usage error before anything is read', async (t) => {
  const missing = await memtraceAuto(['report', BIG, '-o', '/nonexistent-memtrace-dir/a.json']);
  t.is(missing.exitCode, 2);
  t.is(
    `${missing.stderr}`.split('\n')[0],
    'memtrace: cannot write /nonexistent-memtrace-dir/a.json: directory /nonexistent-memtrace-dir does not exist',
  );
  const readOnly = smallDisk(t, '64k', ',ro');
  const result = await memtraceAuto(['report', BIG, '-o', join(readOnly, 'a.json')]);
  t.is(result.exitCode, 2);
  t.is(
    `${result.stderr}`.split('\n')[0],
    `memtrace: cannot write ${join(readOnly, 'a.json')}: directory ${readOnly} is on a read-only file system`,
  );
});

test('a full disk: exit code 6, "disk full" naming the path, and no half-written report left', async (t) => {
  const disk = smallDisk(t, '64k');
  const result = await memtraceAuto(['report', BIG, '-o', join(disk, 'a.json')]);
  t.is(result.exitCode, 6);
  t.is(`${result.stderr}`, `memtrace: cannot write ${join(disk, 'a.json')}: disk full (ENOSPC); no file was left there`);
  t.deepEqual(readdirSync(disk), []);
});

test('process: a full disk under the live log: exit code 6, sampling and reports go on, the log re-renders', async (t) => {
  const disk = smallDisk(t, '4k');
  const other = directory();
  const log = join(disk, 'log.jsonl');
  const result = await memtraceAuto(['process', '-i', '10ms', '-o', log, '-o', join(other, 's.tsv'), '--', 'sleep', '2']);
  t.is(result.exitCode, 6);
  t.regex(
    `${result.stderr}`,
    new RegExp(
      `^memtrace: could not write ${log}: disk full \\(ENOSPC\\); the log keeps the samples written until then, readable by memtrace report; sampling goes on for the reports$`,
      'm',
    ),
  );
  t.regex(`${result.stderr}`, /^memtrace: sampled PID \d+ for [\d.]+ m?s: \d+ samples, \d+ missed/m);
  // The tsv has every sample, more than the 4 KiB log could hold.
  t.true(readFileSync(join(other, 's.tsv'), 'utf8').split('\n').length > readFileSync(log, 'utf8').split('\n').length);
  // Cut back to whole lines: every line of the log is a JSON record.
  const lines = readFileSync(log, 'utf8').split('\n');
  t.is(lines.pop(), '');
  t.true(lines.length > 5 && lines.every((line) => JSON.parse(line) !== null));
  const again = await memtraceAuto(['report', log]);
  t.is(again.exitCode, 0, `${again.stderr}`);
  t.regex(`${again.stdout}`, /the log is cut: no stop record/);
});

test('process: the report directory turns read-only mid-run: exit code 6 naming the cause; the log elsewhere is whole', async (t) => {
  const disk = smallDisk(t, '64k');
  const other = directory();
  const child = memtraceAuto([
    'process',
    '-i',
    '50ms',
    '--status',
    '100ms',
    '-o',
    join(other, 'log.jsonl'),
    '-o',
    join(disk, 's.svg'),
    '--',
    'sleep',
    '1.5',
  ]);
  await waitForLine(child.stderr!, /\[memtrace process\]/);
  execFileSync('mount', ['-o', 'remount,ro', disk]);
  const result = await child;
  t.is(result.exitCode, 6);
  t.regex(
    `${result.stderr}`,
    new RegExp(`^memtrace: cannot create a file beside ${join(disk, 's.svg')}: read-only file system \\(EROFS\\)$`, 'm'),
  );
  t.deepEqual(readdirSync(disk), []);
  const again = await memtraceAuto(['report', join(other, 'log.jsonl')]);
  t.is(again.exitCode, 0, `${again.stderr}`);
  t.notRegex(`${again.stdout}`, /cut/);
});

liveTest(
  'malloc: --raw-out on a full disk: exit code 6, the report is whole, the raw log re-renders marked PARTIAL, the target ran to its end',
  async (t) => {
    const disk = smallDisk(t, '4k');
    const other = directory();
    const raw = join(disk, 'raw.ndjson');
    const result = await memtrace(['malloc', '-o', join(other, 'r.json'), '--raw-out', raw, '--', buildWorkload('known-allocs')]);
    t.is(result.exitCode, 6, `${result.stderr}`);
    t.regex(
      `${result.stderr}`,
      new RegExp(
        `^memtrace-bpf: could not write ${raw}: disk full \\(ENOSPC\\); it keeps the whole lines written until then \\(\\d+ bytes confirmed\\), a truncated log that memtrace report reads$`,
        'm',
      ),
    );
    const pid = Number(/ in PID (\d+);/.exec(`${result.stderr}`)?.[1]);
    t.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    const report = JSON.parse(readFileSync(join(other, 'r.json'), 'utf8')) as { partial: boolean; totals: { allocs: number } };
    t.false(report.partial);
    t.is(report.totals.allocs, 106);
    const again = await memtraceAuto(['report', raw]);
    t.is(again.exitCode, 0, `${again.stderr}`);
    t.regex(
      `${again.stdout}`.replace(/\n/g, ' '),
      /PARTIAL: .*raw\.ndjson has memtrace's header but not its trailer: the log was cut short \(disk full, or memtrace was killed\)/,
    );
  },
);

liveTest('malloc: a read-only -o directory is refused before the target is started', async (t) => {
  const readOnly = smallDisk(t, '64k', ',ro');
  const result = await memtrace(['malloc', '-o', join(readOnly, 'r.json'), '--', buildWorkload('known-allocs')]);
  t.is(result.exitCode, 2);
  t.is(
    `${result.stderr}`.split('\n')[0],
    `memtrace-bpf: cannot write ${join(readOnly, 'r.json')}: directory ${readOnly} is on a read-only file system`,
  );
  t.notRegex(`${result.stderr}`, /tracing|allocated/);
  t.notRegex(`${result.stdout}`, /allocated/);
});
