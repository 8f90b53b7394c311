// The kernel maps a malloc trace makes, read from its bpftrace's /proc/PID/fdinfo while it runs. The
// kernel preallocates a per-CPU hash map (count(), sum(), hist()) whole, on every CPU: where bpftrace
// takes map declarations (0.27), memtrace sizes the per-function counters and the size histogram to
// their keys, and only the two stack maps take --map-entries; where it does not (0.17, 0.23), every
// per-CPU map does. The figures of the report stay exact either way.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MallocProfile } from '../../src/model/malloc-profile.js';
import { memtrace, waitForLine } from '../helpers/cli.js';
import { KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { liveMapDeclarations, liveTest } from '../helpers/live.js';
import { descendantsOf, isBpftrace } from '../helpers/processes.js';
import { buildWorkload } from '../helpers/workloads.js';

const MAP_ENTRIES = 20_000;
const BPF_MAP_TYPE_PERCPU_HASH = 5;

/** The BPF maps a process holds open: type and capacity, from its fdinfo. */
function mapsOf(pid: number): Array<{ type: number; maxEntries: number }> {
  const maps = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed since the listing
    }
    const type = /^map_type:\s+(\d+)$/m.exec(info);
    const maxEntries = /^max_entries:\s+(\d+)$/m.exec(info);
    if (type !== null && maxEntries !== null) maps.push({ type: Number(type[1]), maxEntries: Number(maxEntries[1]) });
  }
  return maps;
}

liveTest(
  `per-CPU hash maps at --map-entries: ${liveMapDeclarations() ? 'the 2 stack maps only, the per-function ones sized to their keys' : 'every keyed one (this bpftrace takes no map declarations)'}`,
  async (t) => {
    const output = join(mkdtempSync(join(tmpdir(), 'memtrace-test-')), 'report.json');
    const session = memtrace([
      'malloc',
      '--map-entries',
      String(MAP_ENTRIES),
      '-o',
      output,
      '--',
      buildWorkload('known-allocs'),
      '--linger',
      '2',
    ]);
    const tracing = await waitForLine(session.stderr!, /memtrace: tracing .* in PID \d+/);
    // The one bpftrace holding maps (a private root's wrapper may be a process of its own).
    const holders = descendantsOf(session.pid!)
      .filter(isBpftrace)
      .map((info) => mapsOf(info.pid))
      .filter((maps) => maps.length > 0);
    t.is(holders.length, 1);
    const perCpuHashes = holders[0]!
      .filter((map) => map.type === BPF_MAP_TYPE_PERCPU_HASH)
      .map((map) => map.maxEntries)
      .sort((a, b) => a - b);
    const traced = await session;
    t.is(traced.exitCode, 7, `${traced.stderr}`); // known-allocs' own exit code
    t.log(`per-CPU hash maps: ${perCpuHashes.join(', ')}`);
    const atSetting = perCpuHashes.filter((entries) => entries === MAP_ENTRIES).length;
    // bpftrace keeps a scalar sum() in a per-CPU hash too: of 1 entry (0.23 and later), or of the size setting (0.17).
    const others = perCpuHashes.filter((entries) => entries !== MAP_ENTRIES && entries !== 1);
    if (liveMapDeclarations()) {
      t.is(atSetting, 2, '@stack_allocs and @stack_bytes');
      // The functions memtrace says it traces: @calls has a key for each, @bytes and @failed for each but free.
      const functions = /memtrace: tracing (.*) in PID/.exec(tracing)![1]!.split(', ').length;
      t.deepEqual(
        others,
        [functions - 1, functions - 1, functions, 66].sort((a, b) => a - b),
      );
    } else {
      t.true(atSetting >= 6, '@calls, @bytes, @failed, @size_hist, @stack_allocs and @stack_bytes at least');
      t.deepEqual(others, []);
    }
    const profile = JSON.parse(readFileSync(output, 'utf8')) as MallocProfile;
    t.deepEqual({ ...profile.totals }, KNOWN_TOTALS);
  },
);
