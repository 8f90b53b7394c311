import { createServer } from 'node:net';
import test from 'ava';
import { UsageError } from '../../src/errors.js';
import { parseListenAddress, servePrometheus } from '../../src/sample/prometheus-server.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/report/prometheus.js';

test('listen addresses: HOST:PORT, [IPv6]:PORT, :PORT', (t) => {
  t.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  t.deepEqual(parseListenAddress('localhost:1'), { host: 'localhost', port: 1 });
  t.deepEqual(parseListenAddress('[::1]:9464'), { host: '::1', port: 9464 });
  t.deepEqual(parseListenAddress(':9464'), { host: '0.0.0.0', port: 9464 });
  for (const bad of ['9464', '127.0.0.1', '127.0.0.1:0', ':65536', 'a b:1', 'host:12x', '', '$(reboot):1']) {
    t.throws(() => parseListenAddress(bad), { instanceOf: UsageError, message: /--prometheus: expected HOST:PORT/ }, bad);
  }
});

test('serves /metrics with the exposition content type; other paths 404, other methods 405', async (t) => {
  let calls = 0;
  const server = await servePrometheus({ host: '127.0.0.1', port: 0 }, () => `up_total ${++calls}\n`);
  const { port } = server.address() as { port: number };
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    t.is(response.status, 200);
    t.is(response.headers.get('content-type'), PROMETHEUS_CONTENT_TYPE);
    t.is(await response.text(), 'up_total 1\n');
    t.is((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
    t.is((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    server.close();
  }
});

test('a port in use is a usage error naming the address', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as { port: number };
  try {
    await t.throwsAsync(
      servePrometheus({ host: '127.0.0.1', port }, () => ''),
      {
        instanceOf: UsageError,
        message: `--prometheus 127.0.0.1:${port}: the address is already in use`,
      },
    );
  } finally {
    holder.close();
  }
});
