// An allocation-heavy JavaScript loop that times itself (start-up and any profiler's set-up are not
// counted): ITERATIONS rounds, each allocating an object, a short array and a string, keeping one
// round in 64 alive. Prints "loop_seconds S".
//   node alloc-loop.js [ITERATIONS=3000000]
const iterations = Number(process.argv[2] ?? 3_000_000);
const kept = [];

function allocate(round) {
  const item = { round, values: [round, round + 1, round + 2], label: `item-${round}` };
  if (round % 64 === 0) kept.push(item);
  return item.values.length;
}

const started = performance.now();
let sum = 0;
for (let round = 0; round < iterations; round += 1) sum += allocate(round);
const seconds = (performance.now() - started) / 1000;
console.log(`loop_seconds ${seconds.toFixed(4)} kept ${kept.length} sum ${sum}`);
