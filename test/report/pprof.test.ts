// pprof output of a real recorded trace (known-allocs, launched): decoded with pprof-format, and
// read by the real `go tool pprof` (Debian's golang-go).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import type { StackProfile } from '../../src/model/stack-profile.js';
import { renderMalloc } from '../../src/report/index.js';
import { renderPprof } from '../../src/report/pprof.js';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { KNOWN_STACKS, KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';
import { needing, program } from '../helpers/needs.js';

const recorded = () => readMallocLog(fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson'), { lenient: false });

function decode(buffer: Buffer | string): Profile {
  return Profile.decode(gunzipSync(buffer as Buffer));
}

test('a malloc profile as pprof: Go heap sample types, exact totals, leaf-first stacks', async (t) => {
  const profile = decode(renderMalloc(await recorded(), 'pprof'));
  const strings = profile.stringTable.strings;
  t.deepEqual(
    profile.sampleType.map((type) => `${strings[Number(type.type)]}/${strings[Number(type.unit)]}`),
    ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes'],
  );
  t.is(strings[Number(profile.defaultSampleType)], 'alloc_space');
  const total = (index: number) => profile.sample.reduce((sum, sample) => sum + Number(sample.value[index]), 0);
  t.deepEqual(
    [total(0), total(1), total(2), total(3)],
    [KNOWN_TOTALS.allocs, KNOWN_TOTALS.allocBytes, KNOWN_TOTALS.outstanding, KNOWN_TOTALS.outstandingBytes],
  );
  const functionName = new Map(profile.function.map((fn) => [Number(fn.id), strings[Number(fn.name)]]));
  const leafName = new Map(
    profile.location.map((location) => [Number(location.id), functionName.get(Number(location.line[0]!.functionId))]),
  );
  const pages = profile.sample.filter((sample) => leafName.get(Number(sample.locationId[0])) === 'make_pages');
  t.is(
    pages.reduce((sum, sample) => sum + Number(sample.value[1]), 0),
    KNOWN_STACKS.make_pages!.allocBytes,
  );
  const names = pages[0]!.locationId.map((id) => leafName.get(Number(id)));
  t.true(names.indexOf('main') > 0, `leaf first, callers after it: ${names.join(' <- ')}`);
  t.true(Number(profile.durationNanos) > 0 && Number(profile.timeNanos) > 0);
});

const goTest = needing([program('go', 'golang-go', ['version'])], test);
goTest(`go tool pprof reads it: make_pages leads alloc_space and inuse_space`, async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-pprof-')), 'heap.pb.gz');
  writeFileSync(path, renderMalloc(await recorded(), 'pprof'));
  const env = { ...process.env, HOME: tmpdir(), GOCACHE: join(tmpdir(), 'memtrace-gocache'), GOFLAGS: '-mod=mod' };
  const alloc = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=alloc_space', path], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.regex(alloc, /Type: alloc_space/);
  t.regex(alloc, /Total samples = 154\.02kB/);
  t.regex(alloc, /^ +116kB +75\.32% +75\.32% +116kB +75\.32% +make_pages$/m);
  const inuse = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=inuse_space', path], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.regex(inuse, /Total samples = 67\.79kB/);
  t.regex(inuse, /^ +52kB .* make_pages$/m);
});

// A stack as memtrace walked it in Debian's sqlite3 (recorded in /tmp/sq's run of the live test's
// workload): the frames carry their place, a marker frame ends the cut stack.
const placed: StackProfile = {
  valueTypes: [{ name: 'allocBytes', unit: 'bytes' }],
  defaultValue: 'allocBytes',
  samples: [
    {
      frames: [
        { name: '[stack cut in libsqlite3.so.0.8.6: no frame pointers]' },
        {
          name: 'libsqlite3.so.0.8.6+0xa7504',
          module: 'libsqlite3.so.0.8.6',
          place: {
            path: '/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6',
            address: '0x7f08e8806504',
            start: '0x7f08e8785000',
            end: '0x7f08e8879000',
            offset: '0x26000',
            buildId: '5221b80bd99650e3e55370b0e24f4b4dbe81264f',
          },
        },
      ],
      values: { allocBytes: 9_948_112 },
    },
  ],
};

test('frames with a place keep their address and mapping (path, build-id, range, offset); others have neither', (t) => {
  const profile = decode(renderPprof(placed));
  const strings = profile.stringTable.strings;
  t.deepEqual(
    profile.mapping.map((m) => [
      Number(m.id),
      `0x${BigInt(m.memoryStart).toString(16)}`,
      `0x${BigInt(m.memoryLimit).toString(16)}`,
      `0x${BigInt(m.fileOffset).toString(16)}`,
      strings[Number(m.filename)],
      strings[Number(m.buildId)],
    ]),
    [
      [
        1,
        '0x7f08e8785000',
        '0x7f08e8879000',
        '0x26000',
        '/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6',
        '5221b80bd99650e3e55370b0e24f4b4dbe81264f',
      ],
    ],
  );
  const [leaf, marker] = profile.sample[0]!.locationId.map((id) =>
    profile.location.find((location) => Number(location.id) === Number(id))!,
  );
  t.deepEqual([`0x${BigInt(leaf!.address).toString(16)}`, Number(leaf!.mappingId)], ['0x7f08e8806504', 1]);
  t.deepEqual([Number(marker!.address), Number(marker!.mappingId)], [0, 0]);
});

goTest(`go tool pprof -raw shows the addresses and the mapping`, (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'memtrace-pprof-')), 'placed.pb.gz');
  writeFileSync(path, renderPprof(placed));
  const raw = execFileSync('go', ['tool', 'pprof', '-raw', path], {
    encoding: 'utf8',
    env: { ...process.env, PPROF_BINARY_PATH: '/nonexistent' },
  });
  t.regex(raw, /^\s+1: 0x7f08e8806504 M=1 libsqlite3\.so\.0\.8\.6\+0xa7504 /m);
  t.regex(
    raw,
    /^1: 0x7f08e8785000\/0x7f08e8879000\/0x26000 \/usr\/lib\/x86_64-linux-gnu\/libsqlite3\.so\.0\.8\.6 5221b80bd99650e3e55370b0e24f4b4dbe81264f/m,
  );
});

test("a frame with a source place (a ustack helper's Python frame) is a function of that file, its line in the Location's Line", (t) => {
  const python: StackProfile = {
    valueTypes: [{ name: 'value', unit: 'count' }],
    defaultValue: 'value',
    samples: [
      {
        frames: [
          { name: 'iterencode', kind: 'python', source: { file: '/usr/lib/python3.9/json/encoder.py', line: 257 } },
          { name: 'libc.so.1`malloc' },
        ],
        values: { value: 23 },
      },
      {
        frames: [
          { name: 'iterencode', kind: 'python', source: { file: '/usr/lib/python3.9/json/encoder.py', line: 260 } },
          { name: 'libc.so.1`malloc' },
        ],
        values: { value: 2 },
      },
    ],
  };
  const profile = decode(renderPprof(python));
  const strings = profile.stringTable.strings;
  // One function, two locations: the lines differ.
  t.deepEqual(
    profile.function.map((fn) => [strings[Number(fn.name)], strings[Number(fn.filename)]]),
    [
      ['libc.so.1`malloc', ''],
      ['iterencode', '/usr/lib/python3.9/json/encoder.py'],
    ],
  );
  const lines = profile.location.flatMap((location) => location.line.map((line) => Number(line.line)));
  t.deepEqual(lines, [0, 257, 260]);
});
