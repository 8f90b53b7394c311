// memtrace's programming interface: `import { ProcessSampler, traceMalloc, heapStats } from 'memtrace'`.
export { ProcessSampler, type ProcessSamplerOptions } from './node/process-sampler.js';
export type { Series, SeriesHeader, SeriesMark, SeriesSample, SeriesStop, ProcessLogRecord } from './model/series.js';
export { heapStats, type HeapStatsOptions, type HeapStatsReport } from './node/heap-stats.js';
export type { HeapSpaceDiff, HeapStatsDifference } from './model/heap-space-diff.js';
export { traceMalloc, type TraceMallocOptions, type TraceMallocReport } from './node/trace-malloc.js';
export type { JsHeapReport, AllocationSite, GroupBy } from './model/js-heap-profile.js';
export { gcLogToSeries, gcMarks, type GcLog, type GcCollection, type GcKindSummary } from './model/gc-log.js';
