// Grows V8's heap at a known rate inside synchronous loops that never yield to the event loop: the
// workload of `memtrace process` on a busy program (a compiler, a bundler, JSON.parse of a large
// file), whose timers cannot run until it is done.
//   node busy-heap.js [BUSY_MS=5000] [PHASES=1] [IDLE_MS=0]
// Each busy phase keeps 16 MiB a second in arrays of 128 doubles (1,072 B each, copies of one
// template: no garbage on the way, all kept, so heapUsed only rises), spinning on the clock in between; with PHASES > 1, an idle phase of IDLE_MS
// (the event loop free, nothing allocated) follows each busy one. Prints one line a phase, on stdout,
// once the event loop is free again.
const busyMs = Number(process.argv[2] ?? 5000);
const phases = Number(process.argv[3] ?? 1);
const idleMs = Number(process.argv[4] ?? 0);
const BYTES_PER_MS = (16 * 1024 * 1024) / 1000;
const ARRAY_BYTES = 1072;

const TEMPLATE = Array.from({ length: 128 }, (_, index) => index + 0.5);
const kept = [];
function busyPhase() {
  const start = performance.now();
  let bytes = 0;
  for (let now = start; now - start < busyMs; now = performance.now()) {
    while (bytes < (now - start) * BYTES_PER_MS) {
      kept.push(TEMPLATE.slice());
      bytes += ARRAY_BYTES;
    }
  }
  return bytes;
}

async function main() {
  for (let phase = 1; phase <= phases; phase++) {
    const bytes = busyPhase();
    console.log(`phase ${phase}: kept ${bytes} bytes in ${kept.length} arrays`);
    if (phase < phases) await new Promise((resolve) => setTimeout(resolve, idleMs));
  }
}

main();
