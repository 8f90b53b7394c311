// A known external-memory workload: makeDistinctBuffers allocates COUNT Buffers of SIZE bytes
// (off the V8 heap, through Node's ArrayBuffer allocator), drops FREED of them and holds the rest;
// a forced collection (--expose-gc) frees the dropped ones. Prints "ready PID" once done, then
// waits WAIT_MS (so that a tracer can attach, or see it idle) and exits.
//   node --expose-gc buffers.js [COUNT=23] [FREED=10] [WAIT_MS=0] [START_DELAY_MS=0]
// With START_DELAY_MS the allocations happen only after that delay: an attached tracer sees them.
const count = Number(process.argv[2] ?? 23);
const freed = Number(process.argv[3] ?? 10);
const waitMs = Number(process.argv[4] ?? 0);
const startDelayMs = Number(process.argv[5] ?? 0);
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

setTimeout(run, startDelayMs);
