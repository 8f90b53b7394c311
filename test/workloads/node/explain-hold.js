// Known amounts of V8 heap and of external memory, held, for `memtrace explain --attach-inspector`
// (test/cli/cli-explain.test.ts): 64 Buffers of 1 MiB (external: their backing stores, written so
// they are resident) and 400,000 small objects on V8's heap. Prints "ready PID" and
// process.memoryUsage() as JSON, then idles until killed (its event loop free, or busy with --busy).
'use strict';
const buffers = [];
for (let i = 0; i < 64; i++) buffers.push(Buffer.alloc(1024 * 1024, i));
const objects = [];
for (let i = 0; i < 400_000; i++) objects.push({ index: i, name: `object ${i}`, values: [i, i + 1, i + 2] });
globalThis.held = { buffers, objects };
const usage = process.memoryUsage();
process.stdout.write(`ready ${process.pid} ${JSON.stringify(usage)}\n`);
if (process.argv.includes('--busy')) {
  // A loop that never yields: the inspector still answers, between two JavaScript instructions.
  let sink = 0;
  for (;;) sink = (sink + objects.length) % 1000;
}
setInterval(() => {}, 1000);
