// Serves `memtrace process --prometheus ADDR`: GET /metrics answers the exposition of the latest
// sample; anything else is 404. The address is checked and bound before the target is launched, so
// a port in use is an error up front, not a trace without its exporter.
import { createServer, type Server } from 'node:http';
import { UsageError } from '../errors.js';
import { PROMETHEUS_CONTENT_TYPE } from '../report/prometheus.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses HOST:PORT, [IPv6]:PORT or :PORT (all interfaces). */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`--prometheus: expected HOST:PORT, [IPV6]:PORT or :PORT with a port from 1 to 65535, got "${text}"`);
  }
  return { host: match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]!), port };
}

export async function servePrometheus(address: ListenAddress, render: () => string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('memtrace serves /metrics\n');
      return;
    }
    const body = render();
    response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${address.host}:${address.port}`;
      if (error.code === 'EADDRINUSE') reject(new UsageError(`--prometheus ${where}: the address is already in use`));
      else if (error.code === 'EACCES')
        reject(new UsageError(`--prometheus ${where}: not allowed to listen there (a port below 1024 needs privileges)`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(new UsageError(`--prometheus ${where}: no such local address`));
      else reject(new UsageError(`--prometheus ${where}: ${error.message}`));
    });
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}
