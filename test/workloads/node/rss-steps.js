// Holds 64 MiB in one function, then releases it: the workload of known growth for `memtrace process`.
// The 64 MiB are a Buffer's backing store (outside V8's heap), filled so that every page is resident;
// released and collected (run with --expose-gc), it is returned to the kernel (glibc serves a block
// this large with its own mmap, freed with munmap). Prints a line at each phase so tests can follow.
//   node --expose-gc rss-steps.js [HOLD_MS=1500] [PAUSE_MS=1000]
const MIB = 1024 * 1024;
const holdMs = Number(process.argv[2] ?? 1500);
const pauseMs = Number(process.argv[3] ?? 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function holdSixtyFourMiB() {
  const block = Buffer.alloc(64 * MIB, 1);
  console.log(`holding ${block.length} bytes`);
  await sleep(holdMs);
  return block.length;
}

async function main() {
  await sleep(pauseMs);
  console.log('before');
  await holdSixtyFourMiB();
  globalThis.gc?.();
  console.log('released');
  await sleep(pauseMs);
  console.log('done');
}

main();
