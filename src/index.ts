// memtrace's programming interface: `import { ProcessSampler, traceMalloc, heapStats } from 'memtrace'`.
export { ProcessSampler, type ProcessSamplerOptions } from './node/process-sampler.js';
export type { Series, SeriesHeader, SeriesMark, SeriesSample, SeriesStop, ProcessLogRecord } from './model/series.js';
