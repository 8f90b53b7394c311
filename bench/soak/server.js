#!/usr/bin/env node
// bench/soak/server.js: the Node HTTP server bench/soak.js puts under load. Each request allocates
// the way a small JSON API does, so that malloc, the GC and RSS all have something to see:
//   - builds a reply object of ~40 records and serializes it (strings and objects on the JS heap),
//   - parses the body it would have received back (JSON.parse: more garbage, young and short-lived),
//   - copies the reply into a Buffer (external memory: node's ArrayBuffer allocator, malloc),
//   - keeps every 4th reply in a cache of at most CACHE_ENTRIES entries, evicting the oldest, so
//     objects survive a few scavenges and reach the old space, and mark-compacts happen, but the
//     heap reaches a plateau instead of growing for the whole run.
// Usage: node bench/soak/server.js [PORT=0] [CACHE_ENTRIES=2000]
// Prints "listening PORT PID" on stdout once it accepts connections.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const cacheEntries = Number(process.argv[3] ?? 2000);
// A Map iterates in insertion order, which makes "drop the oldest" one keys().next().
const cache = new Map();
let served = 0;

function buildReply(id) {
  const records = [];
  for (let i = 0; i < 40; i++) {
    records.push({ id: id * 40 + i, name: `item-${id}-${i}`, tags: ['soak', `t${i % 7}`], score: (id * 31 + i) % 997 });
  }
  return { request: id, at: Date.now(), records };
}

function remember(key, value) {
  cache.set(key, value);
  if (cache.size > cacheEntries) cache.delete(cache.keys().next().value);
}

const server = createServer((request, response) => {
  served += 1;
  const id = served;
  const text = JSON.stringify(buildReply(id));
  const echoed = JSON.parse(text);
  const body = Buffer.from(text);
  if (id % 4 === 0) remember(`reply-${id}`, { echoed, body: Buffer.from(body) });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  response.end(body);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port} ${process.pid}`);
});

// SIGTERM ends the server cleanly; bench/soak.js sends it after the phase's last check.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
