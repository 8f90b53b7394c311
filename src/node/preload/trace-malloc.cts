// Preloaded (`--require`) into a Node program launched by `memtrace trace-malloc`: runs V8's
// sampling heap profiler over the whole program and writes its profile to
// MEMTRACE_TRACE_MALLOC_DIR/trace-malloc-PID.json when the program ends — normally, through
// process.exit(), or on SIGINT/SIGTERM (re-raised afterwards when the program has no handler of
// its own, so that it dies as it would have). Child Node processes inherit it and write their own.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHeapSampling, type HeapSamplingMode } from '../heap-sampler.cjs';
import { onProgramEnd } from '../program-end.cjs';

const directory = process.env.MEMTRACE_TRACE_MALLOC_DIR;

if (directory !== undefined && directory !== '') {
  const samplingInterval = Number(process.env.MEMTRACE_TRACE_MALLOC_INTERVAL) || 32768;
  const mode: HeapSamplingMode = process.env.MEMTRACE_TRACE_MALLOC_MODE === 'retained' ? 'retained' : 'allocated';
  const start = new Date().toISOString();
  const began = performance.now();
  const sampling = startHeapSampling(samplingInterval, mode);
  onProgramEnd((ending) => {
    const profile = sampling.stop();
    const record = { pid: process.pid, ppid: process.ppid, argv: process.argv, node: process.version, start, durationSeconds: (performance.now() - began) / 1000, samplingInterval, mode, ending, profile };
    writeFileSync(join(directory, `trace-malloc-${process.pid}.json`), `${JSON.stringify(record)}\n`);
  });
}
