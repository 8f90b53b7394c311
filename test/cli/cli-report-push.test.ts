// memtrace report --push: a recorded malloc trace and folded stacks sent to a loopback receiver that
// speaks Pyroscope's ingest API, which decodes what it got with pprof-format; and the usage errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import { readMallocLog } from '../../src/tools/malloc/report-input.js';
import { memtraceAuto } from '../helpers/cli.js';
import { KNOWN_TOTALS } from '../helpers/known-allocs.js';
import { fixture } from '../helpers/workloads.js';

const trace = fixture('bpftrace/debian12-0.17/malloc-raw-launch.ndjson');

interface Ingest {
  path: string;
  query: URLSearchParams;
  profile: Profile;
  config: Record<string, { units: string; aggregation: string }>;
}

async function pyroscopeReceiver(): Promise<{ server: Server; url: string; ingests: Ingest[] }> {
  const ingests: Ingest[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = await new Response(Buffer.concat(chunks), {
      headers: { 'content-type': request.headers['content-type'] ?? '' },
    }).formData();
    const url = new URL(request.url!, 'http://receiver');
    const profile = Profile.decode(gunzipSync(Buffer.from(await (form.get('profile') as File).arrayBuffer())));
    ingests.push({
      path: url.pathname,
      query: url.searchParams,
      profile,
      config: JSON.parse(await (form.get('sample_type_config') as File).text()),
    });
    response.writeHead(200).end();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, ingests };
}

const sampleTypes = (profile: Profile) =>
  profile.sampleType.map((type) => `${profile.stringTable.strings[Number(type.type)]}/${profile.stringTable.strings[Number(type.unit)]}`);
const totals = (profile: Profile) =>
  profile.sampleType.map((_, index) => profile.sample.reduce((sum, sample) => sum + Number(sample.value[index]), 0));

test("a malloc trace pushed: Go heap sample types, exact totals, the trace's own time, labels in the name", async (t) => {
  const { server, url, ingests } = await pyroscopeReceiver();
  try {
    const result = await memtraceAuto(['report', '--push', url, '--app', 'myservice', '--label', 'env=ci', '--label', 'host=box1', trace]);
    t.is(result.exitCode, 0, result.stderr);
    t.is(result.stdout, '', 'with --push and no -o, nothing on stdout');
    t.is(result.stderr, `memtrace: pushed the profile to ${url} as myservice{env=ci,host=box1}`);
    t.is(ingests.length, 1);
    const [ingest] = ingests;
    t.is(ingest!.path, '/ingest');
    t.is(ingest!.query.get('name'), 'myservice{env=ci,host=box1}');
    t.is(ingest!.query.get('format'), 'pprof');
    // The trace began at 2026-11-24T00:11:50.850Z and lasted 6.42 s: from and until enclose it.
    const recorded = await readMallocLog(trace, { lenient: false });
    t.deepEqual([recorded.startedAt, recorded.durationSeconds], ['2026-11-24T00:11:50.850Z', 6.42]);
    t.is(ingest!.query.get('from'), '1795479110');
    t.is(ingest!.query.get('until'), '1795479118');
    t.deepEqual(sampleTypes(ingest!.profile), ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
    t.deepEqual(totals(ingest!.profile), [
      KNOWN_TOTALS.allocs,
      KNOWN_TOTALS.allocBytes,
      KNOWN_TOTALS.outstanding,
      KNOWN_TOTALS.outstandingBytes,
    ]);
    t.deepEqual(Object.fromEntries(Object.entries(ingest!.config).map(([name, type]) => [name, `${type.units}/${type.aggregation}`])), {
      alloc_objects: 'objects/sum',
      alloc_space: 'bytes/sum',
      inuse_objects: 'objects/average',
      inuse_space: 'bytes/average',
    });
  } finally {
    server.close();
  }
});

test('pushed and written at once: -o files as usual, --value is the default sample type', async (t) => {
  const { server, url, ingests } = await pyroscopeReceiver();
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-push-'));
  try {
    const result = await memtraceAuto([
      'report',
      trace,
      '--push',
      `${url}/`,
      '--app',
      'a.b-c_d',
      '--value',
      'outstandingBytes',
      '-o',
      join(directory, 'r.csv'),
    ]);
    t.is(result.exitCode, 0, result.stderr);
    t.regex(result.stderr, /wrote .*r\.csv \(csv\)/);
    const profile = ingests[0]!.profile;
    t.is(profile.stringTable.strings[Number(profile.defaultSampleType)], 'inuse_space');
    t.is(ingests[0]!.query.get('name'), 'a.b-c_d{}');
  } finally {
    server.close();
  }
});

test('folded stacks pushed: their value as samples', async (t) => {
  const { server, url, ingests } = await pyroscopeReceiver();
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-push-'));
  const folded = join(directory, 'x.folded');
  writeFileSync(folded, 'main;grow 23\nmain;parse 7\n');
  try {
    const result = await memtraceAuto(['report', folded, '--push', url, '--app', 'folded']);
    t.is(result.exitCode, 0, result.stderr);
    t.deepEqual(sampleTypes(ingests[0]!.profile), ['samples/count']);
    t.deepEqual(totals(ingests[0]!.profile), [30]);
    t.deepEqual(ingests[0]!.config, { samples: { units: 'samples', aggregation: 'sum', 'display-name': 'samples', sampled: false } });
  } finally {
    server.close();
  }
});

test('DTrace aggregations pushed: their value as samples, every stack', async (t) => {
  const { server, url, ingests } = await pyroscopeReceiver();
  try {
    const result = await memtraceAuto(['report', fixture('dtrace/aggregation-ustack-count.txt'), '--push', url, '--app', 'dtrace']);
    t.is(result.exitCode, 0, result.stderr);
    t.is(result.stdout, '');
    t.deepEqual(sampleTypes(ingests[0]!.profile), ['value/count']);
    t.deepEqual(totals(ingests[0]!.profile), [26]);
    t.is(ingests[0]!.profile.sample.length, 3);
  } finally {
    server.close();
  }
});

test('a refused connection: exit 1, a message that says so, and nothing written to stdout', async (t) => {
  const { server, url } = await pyroscopeReceiver();
  await new Promise<void>((closed) => server.close(() => closed()));
  const result = await memtraceAuto(['report', trace, '--push', url, '--app', 'x']);
  t.is(result.exitCode, 1);
  t.is(result.stderr.trim(), `memtrace: --push: ${url}/ingest: connection refused: is Pyroscope listening there?`);
});

const usage = test.macro(async (t, args: string[], message: RegExp) => {
  const result = await memtraceAuto(['report', ...args]);
  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, message);
});
test(
  '--push ftp://',
  usage,
  [trace, '--push', 'ftp://127.0.0.1/', '--app', 'x'],
  /--push: expected an http:\/\/ or https:\/\/ URL, got ftp:/,
);
test('--push without --app', usage, [trace, '--push', 'http://127.0.0.1:4040'], /--push needs --app NAME/);
test('--label without --push', usage, [trace, '--label', 'env=ci'], /--label goes with --push URL/);
test('a bad label', usage, [trace, '--push', 'http://127.0.0.1:4040', '--app', 'x', '--label', 'env=a b'], /--label: expected KEY=VALUE/);
test(
  '--push of a process log',
  usage,
  [fixture('process/pymemtrace-linux.log'), '--push', 'http://127.0.0.1:4040', '--app', 'x'],
  /--push sends stack profiles to Pyroscope; .* is a process log/,
);
test(
  '--push of a cPyMemTrace log',
  usage,
  [fixture('pymemtrace/trace_default.log'), '--push', 'http://127.0.0.1:4040', '--app', 'x'],
  /--push sends stack profiles to Pyroscope; .* is a cpymemtrace log/,
);
test(
  '--push with --diff',
  usage,
  ['--diff', trace, trace, '--push', 'http://127.0.0.1:4040', '--app', 'x'],
  /--push sends one profile; it does not go with --diff/,
);
