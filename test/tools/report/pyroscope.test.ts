// --push: the grammar of the URL, app name and labels, the ingest URL built from them, and a real
// HTTP exchange with loopback receivers (one that accepts, one that refuses, one that never answers).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { Profile } from 'pprof-format';
import { renderPprof } from '../../../src/report/pprof.js';
import { ingestUrl, parsePushOptions, pushToPyroscope, sampleTypeConfig } from '../../../src/tools/report/pyroscope.js';

const push = (overrides: Partial<{ url: string | null; app: string | null; labels: string[]; timeout: string | null }> = {}) =>
  parsePushOptions({ url: 'http://127.0.0.1:4040', app: 'myservice', labels: [], timeout: null, ...overrides });

test('the ingest endpoint: /ingest under the URL given, kept when already there', (t) => {
  t.is(push()!.endpoint.href, 'http://127.0.0.1:4040/ingest');
  t.is(push({ url: 'https://pyro.example:8443/profiles/' })!.endpoint.href, 'https://pyro.example:8443/profiles/ingest');
  t.is(push({ url: 'http://127.0.0.1:4040/ingest' })!.endpoint.href, 'http://127.0.0.1:4040/ingest');
  t.is(push()!.timeoutMs, 30_000);
  t.is(push({ timeout: '2' })!.timeoutMs, 2000);
  t.is(parsePushOptions({ url: null, app: null, labels: [], timeout: null }), null);
});

test('the ingest URL: name with labels, from and until in UNIX seconds, format pprof', (t) => {
  const url = ingestUrl(push({ labels: ['env=ci', 'host=box-1.example'] })!, {
    from: new Date('2026-11-23T10:00:00.400Z'),
    until: new Date('2026-11-23T10:00:02.600Z'),
  });
  t.is(url.searchParams.get('name'), 'myservice{env=ci,host=box-1.example}');
  t.is(url.searchParams.get('from'), String(Date.UTC(2026, 10, 23, 10, 0, 0) / 1000));
  t.is(url.searchParams.get('until'), String(Date.UTC(2026, 10, 23, 10, 0, 3) / 1000));
  t.is(url.searchParams.get('format'), 'pprof');
  t.is(url.searchParams.get('spyName'), 'memtrace');
  t.is(url.search, '?name=myservice%7Benv%3Dci%2Chost%3Dbox-1.example%7D&from=1795428000&until=1795428003&format=pprof&spyName=memtrace');
  const instant = ingestUrl(push()!, { from: new Date(5000), until: new Date(5000) });
  t.deepEqual(
    [instant.searchParams.get('name'), instant.searchParams.get('from'), instant.searchParams.get('until')],
    ['myservice{}', '5', '6'],
  );
});

const refused = test.macro((t, options: Parameters<typeof push>[0], message: RegExp) => {
  const error = t.throws(() => push(options));
  t.regex(error!.message, message);
  t.is((error as { exitCode?: number }).exitCode, 2);
});
test('ftp:// is refused', refused, { url: 'ftp://127.0.0.1/' }, /--push: expected an http:\/\/ or https:\/\/ URL, got ftp:/);
test('file:// is refused', refused, { url: 'file:///etc/passwd' }, /expected an http:\/\/ or https:\/\/ URL, got file:/);
test('not a URL', refused, { url: '127.0.0.1:4040' }, /--push: (not a URL|expected an http)/);
test('credentials in the URL', refused, { url: 'http://user:secret@127.0.0.1:4040' }, /credentials in the URL are not sent/);
test('a query in the URL', refused, { url: 'http://127.0.0.1:4040/?name=x' }, /takes no query or fragment/);
test('no --app', refused, { app: null }, /--push needs --app NAME/);
test('an app name with braces', refused, { app: 'my{app}' }, /--app: expected letters, digits, "_", "\." and "-"/);
test('an app name with a space', refused, { app: 'my app' }, /--app: expected/);
test('a label without =', refused, { labels: ['env'] }, /--label: expected KEY=VALUE/);
test('a label key with a dash', refused, { labels: ['my-env=ci'] }, /--label: expected KEY=VALUE/);
test('a label value with a comma', refused, { labels: ['env=a,b=c'] }, /--label: expected KEY=VALUE/);
test('a label value with a brace', refused, { labels: ['env=ci}'] }, /--label: expected KEY=VALUE/);
test('an empty label value', refused, { labels: ['env='] }, /--label: expected KEY=VALUE/);
test('a reserved label key', refused, { labels: ['__name__=x'] }, /keys starting with "__" are reserved/);
test('a label given twice', refused, { labels: ['env=a', 'env=b'] }, /--label env: given twice/);
test('a timeout of 0', refused, { timeout: '0' }, /--push-timeout/);
test('--app without --push', refused, { url: null }, /--app goes with --push URL/);

test('the sample type configuration Pyroscope reads', (t) => {
  t.deepEqual(JSON.parse(sampleTypeConfig([{ name: 'inuse_space', units: 'bytes', aggregation: 'average' }])), {
    inuse_space: { units: 'bytes', aggregation: 'average', 'display-name': 'inuse_space', sampled: false },
  });
});

interface Received {
  method: string;
  url: string;
  form: FormData;
}

/** A loopback server that answers every request with `answer` (or never, with null). */
async function receiver(answer: { status: number; body: string } | null): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = await new Response(Buffer.concat(chunks), {
      headers: { 'content-type': request.headers['content-type'] ?? '' },
    }).formData();
    received.push({ method: request.method!, url: request.url!, form });
    if (answer === null) return;
    response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

// A real pprof of 23 bytes in main;grow, as the renderer writes it (gzip).
const PPROF = renderPprof({
  valueTypes: [{ name: 'alloc_space', unit: 'bytes' }],
  defaultValue: 'alloc_space',
  samples: [{ frames: [{ name: 'main' }, { name: 'grow' }], values: { alloc_space: 23 } }],
});

test('a 2xx answer: the multipart body holds the profile and the sample type config', async (t) => {
  const { server, url, received } = await receiver({ status: 200, body: '' });
  try {
    const sent = await pushToPyroscope(push({ url: `${url}/pyro` })!, {
      pprof: PPROF,
      types: [{ name: 'alloc_space', units: 'bytes', aggregation: 'sum' }],
      from: new Date(1000_000),
      until: new Date(1002_000),
    });
    t.is(sent.pathname, '/pyro/ingest');
    t.is(received.length, 1);
    t.is(received[0]!.method, 'POST');
    t.is(received[0]!.url, '/pyro/ingest?name=myservice%7B%7D&from=1000&until=1002&format=pprof&spyName=memtrace');
    const profile = received[0]!.form.get('profile') as File;
    const bytes = Buffer.from(await profile.arrayBuffer());
    t.deepEqual(bytes, PPROF);
    const decoded = Profile.decode(gunzipSync(bytes));
    t.deepEqual(
      decoded.sample.map((sample) => sample.value.map(Number)),
      [[23]],
    );
    t.deepEqual(JSON.parse(await (received[0]!.form.get('sample_type_config') as File).text()), {
      alloc_space: { units: 'bytes', aggregation: 'sum', 'display-name': 'alloc_space', sampled: false },
    });
  } finally {
    server.close();
  }
});

test("a non-2xx answer is an error with the status and the server's words", async (t) => {
  const { server, url } = await receiver({ status: 422, body: 'invalid\nprofile type' });
  try {
    const error = await t.throwsAsync(pushToPyroscope(push({ url })!, { pprof: PPROF, types: [], from: new Date(0), until: new Date(0) }));
    t.is(error!.message, `--push: ${url}/ingest answered 422 Unprocessable Entity: invalid profile type`);
    t.is((error as { exitCode?: number }).exitCode, 1);
  } finally {
    server.close();
  }
});

test('a refused connection says so', async (t) => {
  const { server, url } = await receiver({ status: 200, body: '' });
  await new Promise<void>((closed) => server.close(() => closed()));
  const error = await t.throwsAsync(pushToPyroscope(push({ url })!, { pprof: PPROF, types: [], from: new Date(0), until: new Date(0) }));
  t.is(error!.message, `--push: ${url}/ingest: connection refused: is Pyroscope listening there?`);
});

test('a server that never answers: a timeout, after --push-timeout', async (t) => {
  const { server, url } = await receiver(null);
  try {
    const started = Date.now();
    const error = await t.throwsAsync(
      pushToPyroscope(push({ url, timeout: '1' })!, { pprof: PPROF, types: [], from: new Date(0), until: new Date(0) }),
    );
    t.is(error!.message, `--push: ${url}/ingest: no answer within 1 s (--push-timeout)`);
    t.true(Date.now() - started < 5000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
