// memtrace-bpf malloc on Debian's sqlite3, whose libsqlite3 is built without frame pointers: the
// frame-pointer walk loses the stack there. No report may show a garbage frame or a bare absolute
// address; every cut stack is marked, counted, and the note names libsqlite3.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { MappingHistory } from '../../src/symbols/proc-maps.js';
import { liveTest } from '../helpers/live.js';
import { memtrace } from '../helpers/cli.js';
import { ROOT } from '../helpers/workloads.js';
import { file, needing } from '../helpers/needs.js';

const SQLITE3 = '/usr/bin/sqlite3';
const WORK_SQL = `${ROOT}test/workloads/sql/work.sql`;

needing([file(SQLITE3, 'sqlite3')], liveTest)(
  'sqlite3 (no frame pointers): stacks cut at libsqlite3, marked and counted, no garbage or bare address shown',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'memtrace-test-'));
    const [json, table, raw] = ['out.json', 'out.txt', 'raw.ndjson'].map((name) => join(dir, name)) as [string, string, string];
    // --stacks fp: what every bpftrace does without DWARF (0.17, 0.23), and on 0.27 when asked.
    const result = await memtrace([
      'malloc',
      '--stacks',
      'fp',
      '-o',
      json,
      '-o',
      table,
      '--raw-out',
      raw,
      '--',
      SQLITE3,
      '-init',
      WORK_SQL,
      ':memory:',
      '.quit',
    ]);
    t.is(result.exitCode, 0, `${result.stderr}`);
    const profile = JSON.parse(readFileSync(json, 'utf8')) as MallocProfile;
    const text = readFileSync(table, 'utf8');

    // Measured on Debian 12 (sqlite3 3.40.1, glibc 2.36): the workload's calls are deterministic.
    t.is(profile.totals.allocs, 141_938);
    t.is(profile.totals.frees, 141_349);

    // Every frame shown lies in an executable mapping the raw log recorded; none is a bare address.
    const record = readFileSync(raw, 'utf8')
      .split('\n')
      .find((line) => line.startsWith('{"type":"memtrace_maps"'))!;
    const history = MappingHistory.fromJSON((JSON.parse(record) as { data: unknown }).data);
    const frames = profile.stacks.flatMap((stack) => stack.frames);
    for (const frame of frames) {
      t.notRegex(frame.name, /^0x/, 'no bare absolute address');
      if (frame.place === undefined) continue;
      const address = BigInt(frame.place.address);
      t.is(history.find(address - 1n)?.perms[2], 'x', `${frame.name} is in code`);
    }
    t.true(
      frames.some((frame) => /^libsqlite3\.so\.0\.8\.6\+0x[0-9a-f]+$/.test(frame.name)),
      'libsqlite3 frames named module+offset',
    );

    // The heaviest stack: sqlite3's allocator wrapper, cut where libsqlite3's missing frame pointers end the walk.
    const [top] = profile.stacks;
    t.is(top!.allocs, 141_898);
    t.deepEqual(top!.frames[0], { name: '[stack cut in libsqlite3.so.0.8.6: no frame pointers]' });

    // Counted alike in json and table, and explained in one note naming libsqlite3 first.
    const cut = profile.stacks.filter((stack) => stack.frames[0]!.name.startsWith('[stack cut')).length;
    t.true(cut > 0);
    t.is(profile.losses.cutStacks, cut);
    t.regex(text, new RegExp(`^Losses: .*\\b${cut} stacks cut where frame pointers end`, 'm'));
    const note = profile.notes.find((line) => line.includes('cut where the frame-pointer walk lost the stack'));
    t.regex(note ?? '', new RegExp(`^${cut} stacks were cut .* in libsqlite3\\.so\\.0\\.8\\.6 \\(`));
    t.regex(note ?? '', /bpftrace 0\.26 or later unwinds with DWARF/);
  },
);
