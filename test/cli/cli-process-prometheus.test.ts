// memtrace process --prometheus, scraped by a real Prometheus server (Debian's `prometheus`
// package) on loopback: the series must arrive in Prometheus's own database with the right values.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { memtraceAuto, waitForLine } from '../helpers/cli.js';
import { needing, program } from '../helpers/needs.js';
import { readLogRecords } from '../helpers/process-log.js';
import { buildWorkload } from '../helpers/workloads.js';

const prometheusTest = needing([program('prometheus')]);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(port: number, expression: string): Promise<VectorResult[]> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expression)}`);
  const body = (await response.json()) as { status: string; data: { result: VectorResult[] } };
  return body.status === 'success' ? body.data.result : [];
}

async function poll<T>(what: string, attempt: () => Promise<T | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await attempt().catch(() => null);
    if (found !== null) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

prometheusTest(`a real Prometheus scrapes memtrace process and stores its series`, async (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'memtrace-prometheus-'));
  const [exporterPort, serverPort] = [await freePort(), await freePort()];
  writeFileSync(
    join(directory, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: memtrace',
      '    scrape_interval: 1s',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${exporterPort}']`,
      '',
    ].join('\n'),
  );
  // The C workload holds 64 MiB for 20 s after 0.5 s: a value Prometheus must see as it is.
  const log = join(directory, 'mem.jsonl');
  const sampler = memtraceAuto(
    [
      'process',
      '-i',
      '100ms',
      '-o',
      log,
      '--status',
      '200ms',
      '--prometheus',
      `127.0.0.1:${exporterPort}`,
      '--',
      buildWorkload('rss-steps'),
      '20000',
      '500',
    ],
    { timeout: 90_000 },
  );
  const server = execa(
    'prometheus',
    [
      `--config.file=${join(directory, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(directory, 'data')}`,
      `--web.listen-address=127.0.0.1:${serverPort}`,
    ],
    { reject: false, all: true },
  );
  try {
    await waitForLine(sampler.stderr!, /samples [1-9]/);
    const up = await poll('the scrape target to be up', async () => {
      const result = await query(serverPort, 'up{job="memtrace"}');
      return result[0]?.value[1] === '1' ? result[0] : null;
    });
    t.is(up.metric.instance, `127.0.0.1:${exporterPort}`);
    const rss = await poll('the RSS series with the 64 MiB held', async () => {
      const result = await query(serverPort, 'memtrace_process_resident_memory_bytes{role="target"}');
      return result.length === 1 && Number(result[0]!.value[1]) > 64 * 1024 * 1024 ? result[0]! : null;
    });
    t.is(rss.metric.name, 'rss-steps');
    t.is(rss.metric.job, 'memtrace');
    const samples = readLogRecords(log).samples;
    const held = samples.filter((sample) => sample.elapsed > 1).map((sample) => sample.rss);
    t.true(held.includes(Number(rss.value[1])), `Prometheus's ${rss.value[1]} is one of the logged values`);
    const counter = await query(serverPort, 'memtrace_samples_total');
    t.true(Number(counter[0]?.value[1]) >= 1);
  } finally {
    server.kill('SIGTERM');
    sampler.kill('SIGINT');
    await Promise.all([server, sampler]);
  }
  t.is(readLogRecords(log).stop?.reason, 'signal');
});
