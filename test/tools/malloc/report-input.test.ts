// memtrace report on recorded malloc logs: hand runs of scripts/bpf/malloc.bt (text and -f json) and
// memtrace's own raw log. Fixtures: test/fixtures/bpftrace/debian12-0.17/README.md.
import test from 'ava';
import { ParseError } from '../../../src/errors.js';
import { renderFolded } from '../../../src/report/folded.js';
import { mallocStackProfile } from '../../../src/model/malloc-profile.js';
import { readMallocLog } from '../../../src/tools/malloc/report-input.js';
import { KNOWN_FUNCTIONS, KNOWN_STACKS, KNOWN_TOTALS, functionsByName, stacksOf } from '../../helpers/known-allocs.js';
import { fixture } from '../../helpers/workloads.js';

const recorded = (name: string) => fixture(`bpftrace/debian12-0.17/${name}`);

const exactFigures = test.macro(async (t, name: string, named: boolean) => {
  const profile = await readMallocLog(recorded(name), { lenient: false });
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  const functions = functionsByName(profile);
  for (const [fn, expected] of Object.entries(KNOWN_FUNCTIONS)) t.deepEqual(functions[fn], expected, fn);
  t.is(
    profile.stacks.reduce((sum, stack) => sum + stack.allocs, 0),
    KNOWN_TOTALS.allocs,
  );
  t.deepEqual(
    profile.histogram.buckets.find((bucket) => bucket.low === 4096),
    { low: 4096, high: 8192, count: 29 },
  );
  if (named) {
    for (const [leaf, expected] of Object.entries(KNOWN_STACKS)) {
      const { stacks: _stacks, ...sums } = stacksOf(profile, leaf);
      t.deepEqual(sums, expected, leaf);
    }
  } else {
    t.true(profile.stacks.every((stack) => stack.frames.every((frame) => frame.name.startsWith('0x'))));
    t.is(
      profile.losses.unsymbolizedFrames,
      profile.stacks.reduce((sum, stack) => sum + stack.frames.length, 0),
    );
  }
});

test('malloc-known-allocs-symbolized.text.txt', exactFigures, 'malloc-known-allocs-symbolized.text.txt', true);
test('malloc-known-allocs-symbolized.json.ndjson', exactFigures, 'malloc-known-allocs-symbolized.json.ndjson', true);
test(
  'malloc-known-allocs.text.txt (target gone before bpftrace printed: hex frames, counted)',
  exactFigures,
  'malloc-known-allocs.text.txt',
  false,
);
test('malloc-raw-launch.ndjson (frames named from the symbols memtrace recorded)', exactFigures, 'malloc-raw-launch.ndjson', true);

test('text and json output of the same run give the same profile', async (t) => {
  const text = await readMallocLog(recorded('malloc-known-allocs-symbolized.text.txt'), { lenient: false });
  const json = await readMallocLog(recorded('malloc-known-allocs-symbolized.json.ndjson'), { lenient: false });
  t.is(renderFolded(mallocStackProfile(text)), renderFolded(mallocStackProfile(json)));
  t.deepEqual(text.functions, json.functions);
  t.deepEqual(
    text.stacks.map((stack) => stack.outstanding),
    json.stacks.map((stack) => stack.outstanding),
  );
});

test('the raw log keeps the target and tracer it was recorded with', async (t) => {
  const profile = await readMallocLog(recorded('malloc-raw-launch.ndjson'), { lenient: false });
  t.deepEqual(profile.tracer, { name: 'bpftrace', version: '0.17.0' });
  t.true(profile.target.pid !== null && profile.target.pid > 0);
  t.regex(profile.target.command!.join(' '), /known-allocs$/);
  t.is(profile.allocator.library, '/usr/lib/x86_64-linux-gnu/libc.so.6');
});

test('truncated inside a stack: a report of what came before, marked partial', async (t) => {
  const profile = await readMallocLog(recorded('malloc-known-allocs-truncated.text.txt'), { lenient: false });
  t.true(profile.partial);
  t.regex(profile.partialReason!, /malloc-known-allocs-truncated\.text\.txt ends in the middle of a record/);
  t.is(profile.totals.allocs, KNOWN_TOTALS.allocs);
  t.is(profile.stacks.length, 0);
});

test('a raw log cut in the middle of a JSON line is an error naming file and line', async (t) => {
  const error = await t.throwsAsync(readMallocLog(recorded('malloc-raw-launch-truncated.ndjson'), { lenient: false }), {
    instanceOf: ParseError,
  });
  t.regex(error!.message, /malloc-raw-launch-truncated\.ndjson:\d+: not valid memtrace malloc output: expected a complete JSON object/);
});

test('a garbled line is an error naming file, line and what was expected', async (t) => {
  const error = await t.throwsAsync(readMallocLog(recorded('malloc-known-allocs-garbled.text.txt'), { lenient: false }), {
    instanceOf: ParseError,
  });
  t.regex(
    error!.message,
    /malloc-known-allocs-garbled\.text\.txt:\d+: not valid memtrace malloc output: expected a stack frame line .*: "%%garbage%%"/,
  );
});

test('--lenient counts the garbled line and reports the rest', async (t) => {
  const profile = await readMallocLog(recorded('malloc-known-allocs-garbled.text.txt'), { lenient: true });
  t.is(profile.losses.skippedLines, 1);
  t.is(profile.totals.allocs, KNOWN_TOTALS.allocs);
});

test('an empty file: partial, and a note that says what is missing', async (t) => {
  const profile = await readMallocLog(recorded('empty.txt'), { lenient: false });
  t.true(profile.partial);
  t.deepEqual(profile.functions, []);
  t.true(profile.notes.some((note) => /holds no output of memtrace's malloc program/.test(note)));
});

test('lost events reported by bpftrace are counted in the profile and shown', async (t) => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { renderMallocTable } = await import('../../../src/report/malloc-table.js');
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'lost.ndjson');
  // bpftrace's JSON record for a full perf ring buffer, as src/output.cpp writes it, in a real log.
  const lines = readFileSync(recorded('malloc-raw-launch.ndjson'), 'utf8').split('\n');
  lines.splice(3, 0, '{"type": "lost_events", "data": {"events": 23}}', 'Lost 7 events');
  writeFileSync(path, lines.join('\n'));
  const profile = await readMallocLog(path, { lenient: false });
  t.is(profile.lostEvents, 30);
  t.is(profile.losses.lostEvents, 30);
  t.regex(renderMallocTable(profile), /^Losses: 30 lost events/m);
});

test('external-buffers.text.txt (scripts/bpf/external.bt by hand): the 23 Buffers, 13 held, as an external profile', async (t) => {
  const profile = await readMallocLog(recorded('external-buffers.text.txt'), { lenient: false });
  t.is(profile.tool, 'external');
  t.false(profile.partial, profile.partialReason ?? '');
  t.deepEqual(
    { ...profile.totals },
    { allocs: 23, frees: 18, allocBytes: 23 * 98_760, failed: 0, freeNull: 0, outstanding: 13, outstandingBytes: 13 * 98_760 },
  );
  t.deepEqual(functionsByName(profile), {
    Allocate: { calls: 1, bytes: 98_760, failed: 0 },
    AllocateUninitialized: { calls: 22, bytes: 22 * 98_760, failed: 0 },
    Free: { calls: 18, bytes: 0, failed: 0 },
  });
  t.is(
    profile.stacks.reduce((sum, stack) => sum + stack.allocs, 0),
    23,
  );
  t.is(
    profile.stacks.reduce((sum, stack) => sum + stack.outstanding, 0),
    13,
  );
  // bpftrace named the first stack's frames while node lived; the rest are hex, and counted.
  t.is(
    profile.stacks.filter((stack) => stack.frames.some((frame) => frame.name.startsWith('v8::internal::BackingStore::Allocate('))).length,
    1,
  );
});
