// The test suite's ava configuration: every test file, one file at a time. `npm test` runs it in three
// passes (test/suites.mjs: ava.pure.config.mjs, ava.paired.config.mjs, ava.live.config.mjs);
// `npx ava FILE` runs one file with this one.
export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  // One file at a time: live tests put uprobes on the same libc and node, and time their targets.
  concurrency: 1,
  timeout: '240s',
};
