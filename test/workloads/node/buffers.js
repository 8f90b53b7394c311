// A known external-memory workload: makeDistinctBuffers allocates COUNT Buffers of SIZE bytes
// (off the V8 heap, through Node's ArrayBuffer allocator), drops FREED of them and holds the rest;
// a forced collection (--expose-gc) frees the dropped ones. Prints "ready PID" once done, then
// waits WAIT_MS (so that a tracer can attach, or see it idle) and exits.
//   node --expose-gc buffers.js [COUNT=23] [FREED=10] [WAIT_MS=0] [START=now|usr2]
// With START=usr2 it prints "waiting PID" and allocates only when sent SIGUSR2: a tracer attaching
// to it (seconds, for node's 100 MB binary) is ready before the first Buffer.
const count = Number(process.argv[2] ?? 23);
const freed = Number(process.argv[3] ?? 10);
const waitMs = Number(process.argv[4] ?? 0);
const start = process.argv[5] ?? 'now';
const SIZE = 12_345 * 8; // 98,760 bytes: far above V8's on-heap limit for typed arrays, easy to spot
const held = [];

function makeDistinctBuffers(n) {
  const made = [];
  for (let i = 0; i < n; i += 1) made.push(Buffer.alloc(SIZE, i));
  return made;
}

function run() {
  const buffers = makeDistinctBuffers(count);
  held.push(...buffers.slice(freed));
  buffers.length = 0;
  // Two full collections: the first finds the dropped ArrayBuffers dead, their backing stores are
  // released by the array-buffer sweeper, which may finish on the next one.
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  console.log(`ready ${process.pid} held ${held.length} bytes ${held.length * SIZE}`);
  setTimeout(() => {}, waitMs);
}

if (start === 'usr2') {
  // A signal listener alone does not keep node running: an idle timer does, until the signal.
  const idle = setTimeout(() => {}, 2 ** 31 - 1);
  process.once('SIGUSR2', () => {
    clearTimeout(idle);
    run();
  });
  console.log(`waiting ${process.pid}`);
} else {
  run();
}
