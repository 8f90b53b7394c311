// The option sets of the D generator's golden files (test/fixtures/dtrace/golden/NAME.d): the golden
// test renders each, and test/dtrace-live/compile.test.ts has a real dtrace compile each.
import type { MallocSpecOptions } from '../../src/probes/malloc-spec.js';
import { DEFAULT_MALLOC_D_OPTIONS, type MallocDOptions } from '../../src/probes/render-malloc-d.js';

/** The golden option sets: test/dtrace-live/compile.test.ts has the real dtrace compile each of them. */
export const GOLDEN_SETS: Array<{ name: string; title: string; options: Partial<MallocSpecOptions>; dOptions?: MallocDOptions }> = [
  { name: 'malloc-pid-4242', title: 'default options, pid 4242', options: {} },
  {
    name: 'malloc-sample-7-sized-duration',
    title: '--sample 7 --min-size 64 --max-size 64k --duration 1.5s',
    options: { sampleEvery: 7, minSize: 64, maxSize: 65_536, durationMs: 1500 },
  },
  { name: 'malloc-stack-depth-3', title: '--stack-depth 3', options: { stackDepth: 3 } },
  // What memtrace-dtrace runs on Linux: libc's functions, frames as addresses for memtrace to name.
  // free past glibc's NULL test (offsets of Debian 12's glibc 2.36: the body at 9, free(NULL)'s ret at 0xc8).
  {
    name: 'malloc-linux-libc-free-offsets',
    title: 'Linux: free at free:9 and free(NULL) at free:c8',
    options: { library: 'libc.so.6', free: { mode: 'offset', bodyOffset: 9, nullOffset: 200 } },
    dOptions: { ...DEFAULT_MALLOC_D_OPTIONS, frames: 'addresses' },
  },
  {
    name: 'malloc-linux-libc-addresses',
    title: 'Linux: --lib libc.so.6, frames named by memtrace',
    options: { library: 'libc.so.6' },
    dOptions: { ...DEFAULT_MALLOC_D_OPTIONS, frames: 'addresses' },
  },
];
