// A Node service that grows: holdBuffers keeps a 64 KiB Buffer in a Map every 100 ms (640 KiB/s,
// never released); churnBuffers makes and drops four 64 KiB Buffers every 100 ms, which the
// collections (--expose-gc: one every 500 ms) free. Buffers of 64 KiB are backing stores from
// Node's ArrayBuffer allocator (memtrace external), not the small-Buffer pool.
//   node --expose-gc growing-map.js [SECONDS=8]   prints "ready PID", runs SECONDS, exits 0
const seconds = Number(process.argv[2] ?? 8);
const SIZE = 65_536;
const cache = new Map();
let ticks = 0;

function holdBuffers() {
  cache.set(ticks, Buffer.alloc(SIZE, 1));
}

function churnBuffers() {
  let sum = 0;
  for (let i = 0; i < 4; i += 1) sum += Buffer.alloc(SIZE, 2)[0];
  return sum;
}

console.log(`ready ${process.pid}`);
const timer = setInterval(() => {
  holdBuffers();
  churnBuffers();
  ticks += 1;
  if (ticks % 5 === 0 && typeof globalThis.gc === 'function') globalThis.gc();
}, 100);
setTimeout(() => clearInterval(timer), seconds * 1000);
