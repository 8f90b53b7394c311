// pprof output of a real recorded trace (known-allocs, launched): decoded with pprof-format, and
// read by the real `go tool pprof` (Debian's golang-go).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import { renderMalloc } from '../../src/report/index.js';
import { readMallocLog } from '../../src/tools/malloc-report.js';
import { KNOWN_STACKS, KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';

const recorded = () => readMallocLog(fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'), { lenient: false });

function decode(buffer: Buffer | string): Profile {
  return Profile.decode(gunzipSync(buffer as Buffer));
}

test('a malloc profile as pprof: Go heap sample types, exact totals, leaf-first stacks', async (t) => {
  const profile = decode(renderMalloc(await recorded(), 'pprof'));
  const strings = profile.stringTable.strings;
  t.deepEqual(profile.sampleType.map((type) => `${strings[Number(type.type)]}/${strings[Number(type.unit)]}`), ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
  t.is(strings[Number(profile.defaultSampleType)], 'alloc_space');
  const total = (index: number) => profile.sample.reduce((sum, sample) => sum + Number(sample.value[index]), 0);
  t.deepEqual([total(0), total(1), total(2), total(3)], [KNOWN_TOTALS.allocs, KNOWN_TOTALS.allocBytes, KNOWN_TOTALS.outstanding, KNOWN_TOTALS.outstandingBytes]);
  const functionName = new Map(profile.function.map((fn) => [Number(fn.id), strings[Number(fn.name)]]));
  const leafName = new Map(profile.location.map((location) => [Number(location.id), functionName.get(Number(location.line[0]!.functionId))]));
  const pages = profile.sample.filter((sample) => leafName.get(Number(sample.locationId[0])) === 'make_pages');
  t.is(pages.reduce((sum, sample) => sum + Number(sample.value[1]), 0), KNOWN_STACKS.make_pages!.allocBytes);
  const names = pages[0]!.locationId.map((id) => leafName.get(Number(id)));
  t.true(names.indexOf('main') > 0, `leaf first, callers after it: ${names.join(' <- ')}`);
  t.true(Number(profile.durationNanos) > 0 && Number(profile.timeNanos) > 0);
});

const go = spawnSync('go', ['version']).status === 0;
(go || process.env.MEMTRACE_REQUIRE_LIVE === '1' ? test : test.skip)(`go tool pprof reads it: make_pages leads alloc_space and inuse_space${go ? '' : ' (skipped: go not installed)'}`, async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-pprof-')), 'heap.pb.gz');
  writeFileSync(path, renderMalloc(await recorded(), 'pprof'));
  const env = { ...process.env, HOME: tmpdir(), GOCACHE: join(tmpdir(), 'memtrace-gocache'), GOFLAGS: '-mod=mod' };
  const alloc = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=alloc_space', path], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.regex(alloc, /Type: alloc_space/);
  t.regex(alloc, /Total samples = 154\.02kB/);
  t.regex(alloc, /^ +116kB +75\.32% +75\.32% +116kB +75\.32% +make_pages$/m);
  const inuse = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=inuse_space', path], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.regex(inuse, /Total samples = 67\.79kB/);
  t.regex(inuse, /^ +52kB .* make_pages$/m);
});
