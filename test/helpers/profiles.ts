// Small hand-made malloc profiles for renderer tests: prime counts so that totals check themselves.
import { emptyLosses, type MallocProfile } from '../../src/model/malloc-profile.js';

export function sampleProfile(overrides: Partial<MallocProfile> = {}): MallocProfile {
  return {
    tool: 'malloc',
    schema: 1,
    target: { pid: 4242, command: ['./myprog', '--flag'] },
    tracer: { name: 'bpftrace', version: '0.17.0' },
    allocator: { library: '/usr/lib/x86_64-linux-gnu/libc.so.6', functions: ['malloc', 'free'] },
    startedAt: '2026-11-23T10:00:00.000Z',
    durationSeconds: 2.5,
    partial: false,
    partialReason: null,
    sampleEvery: 1,
    lostEvents: 0,
    losses: emptyLosses(),
    totals: { allocs: 30, frees: 23, allocBytes: 23 * 4096 + 7 * 24, failed: 1, freeNull: 2, outstanding: 7, outstandingBytes: 7 * 4096 },
    functions: [
      { name: 'malloc', calls: 31, bytes: 23 * 4096 + 7 * 24, failed: 1 },
      { name: 'free', calls: 25, bytes: 0, failed: 0 },
    ],
    histogram: {
      unit: 'bytes',
      buckets: [
        { low: 16, high: 32, count: 7 },
        { low: 4096, high: 8192, count: 23 },
      ],
    },
    stacks: [
      {
        frames: [
          { name: 'main', module: 'myprog' },
          { name: 'load<std::vector<int>&>', module: 'myprog' },
        ],
        allocs: 23,
        allocBytes: 23 * 4096,
        outstanding: 7,
        outstandingBytes: 7 * 4096,
        oldestAgeSeconds: 1.25,
      },
      {
        frames: [
          { name: 'main', module: 'myprog' },
          { name: 'parse;args', module: 'myprog' },
        ],
        allocs: 7,
        allocBytes: 7 * 24,
        outstanding: 0,
        outstandingBytes: 0,
        oldestAgeSeconds: null,
      },
    ],
    notes: [],
    ...overrides,
  };
}
