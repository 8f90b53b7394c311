// Forces a known number of V8 garbage collections: N calls of gc() (each a full mark-compact,
// reason "testing"), with a little garbage between them so that each has something to collect.
// Run with --expose-gc (and --trace-gc to have V8 print its own line per collection).
//   node --expose-gc gc-forced.js [N=23] [--wait] [--linger] [--worker] [--rss]
// --wait    print "ready PID" and force the collections only on SIGUSR2 (a tracer attaches first)
// --linger  stay alive after "done N" until SIGTERM or SIGINT (to test interrupting a trace)
// --worker  a worker thread (an isolate of its own) forces N collections first, then the main thread
// --rss     print "rss BYTES", the process's RSS read the moment the last gc() returns (before
//           "done": printing and the idle loop grow RSS by a megabyte or more)
if (typeof globalThis.gc !== 'function') {
  console.error('gc-forced.js: run with node --expose-gc');
  process.exit(2);
}
const args = process.argv.slice(2);
const count = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 23);
const wait = args.includes('--wait');
const linger = args.includes('--linger');
const withWorker = args.includes('--worker');
const reportRss = args.includes('--rss');

function collectGarbage() {
  for (let round = 0; round < count; round += 1) {
    // About 64 KiB of short-lived objects: small enough to stay in the young generation, so that
    // no scavenge is triggered by the loop itself.
    let garbage = [];
    for (let i = 0; i < 1024; i += 1) garbage.push({ round, i });
    garbage = null;
    globalThis.gc();
  }
  // Read before anything else allocates: the kernel's counters (/proc/self/stat), as the probe reads them.
  if (reportRss) console.log(`rss ${process.memoryUsage.rss()}`);
}

async function force() {
  if (withWorker) {
    // The worker inherits --expose-gc (its execArgv defaults to the process's).
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(`for (let i = 0; i < ${count}; i += 1) { let g = []; for (let j = 0; j < 1024; j += 1) g.push({ i, j }); g = null; globalThis.gc(); }`, { eval: true });
    await new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
    console.log(`worker done ${count}`);
  }
  collectGarbage();
  console.log(`done ${count}`);
  if (linger) {
    const timer = setInterval(() => {}, 1000);
    const end = () => {
      clearInterval(timer);
      process.exit(0);
    };
    process.once('SIGTERM', end);
    process.once('SIGINT', end);
  }
}

if (wait) {
  const timer = setInterval(() => {}, 1000);
  process.once('SIGUSR2', () => {
    clearInterval(timer);
    void force();
  });
  console.log(`ready ${process.pid}`);
} else {
  await force();
}
