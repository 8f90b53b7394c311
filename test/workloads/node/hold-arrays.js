// Holds about 64 MiB of small JS arrays in one function, for heap-stats and trace-malloc:
// 65,536 arrays of 128 doubles each. Each is a JSArray (32 B) and a FixedDoubleArray of
// 16 + 128 × 8 = 1,040 B: 1,072 B an array, 67.0 MiB in all, plus the outer array's 512 KiB.
// They live in V8's old space once two scavenges have promoted them.
//   node hold-arrays.js [release]    ("release" drops them before exiting)
const COUNT = 65_536;
const LENGTH = 128;

function holdSixtyFourMiB() {
  const held = new Array(COUNT);
  for (let index = 0; index < COUNT; index += 1) held[index] = new Array(LENGTH).fill(index + 0.5);
  return held;
}

globalThis.held = holdSixtyFourMiB();
console.log(`holding ${globalThis.held.length} arrays`);
if (process.argv[2] === 'release') {
  globalThis.held = null;
  console.log('released');
}
