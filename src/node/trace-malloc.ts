// traceMalloc(): which JavaScript functions allocated during a block — tracemalloc's role for
// Node, through V8's sampling heap profiler.
//
//   const { result, report } = await traceMalloc(() => buildIndex(docs));
//   console.log(report.top(10));
//
// The profiler's own cost is measured first: the same start and stop around an empty block, whose
// samples are all overhead; they are taken off the sites they land on. Samples whose allocating
// frame is memtrace's or the inspector's own are overhead too. Both are counted in the report. If
// the block throws, the report is still made, attached to the error as `error.memtraceReport`, and
// the error re-thrown.
import { hostname } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { GROUP_BY, reduceHeapProfile, siteBytes, type GroupBy, type JsHeapReport, type V8HeapProfile } from '../model/js-heap-profile.js';
import { renderJsHeapTable } from '../report/js-heap-table.js';
import { runBlock, rethrowWithReport } from './run-block.js';
import { startHeapSampling, type HeapSamplingMode } from './heap-sampler.cjs';

export interface TraceMallocOptions {
  /** Mean bytes between samples (default 32768, V8's default; smaller is finer and dearer). */
  samplingInterval?: number;
  /** 'allocated' (default): everything the block allocated; 'retained': what is still alive at its end. */
  mode?: HeapSamplingMode;
  groupBy?: GroupBy;
}

export interface TraceMallocReport extends JsHeapReport {
  /** The table of the `n` largest sites. */
  top(n?: number): string;
  /** V8's raw profile: save it as .heapprofile for Chrome DevTools or speedscope. */
  profile: V8HeapProfile;
  toJSON(): JsHeapReport;
}

export const DEFAULT_SAMPLING_INTERVAL = 32 * 1024;

/** The directory of memtrace's own compiled modules: allocations whose top frame is there are overhead. */
const OWN_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));
const OWN_URL = pathToFileURL(OWN_DIRECTORY).href;

export function isOwnFrame(url: string): boolean {
  return url.startsWith('node:inspector') || url.startsWith(OWN_DIRECTORY) || url.startsWith(OWN_URL);
}

export async function traceMalloc<T>(
  block: () => T | Promise<T>,
  options: TraceMallocOptions = {},
): Promise<{ result: Awaited<T>; report: TraceMallocReport }> {
  if (typeof block !== 'function') throw new UsageError('traceMalloc: the first argument is the block to trace, a function');
  const samplingInterval = options.samplingInterval ?? DEFAULT_SAMPLING_INTERVAL;
  if (!Number.isInteger(samplingInterval) || samplingInterval < 1 || samplingInterval > 2 ** 30) {
    throw new UsageError(`traceMalloc: samplingInterval is a number of bytes from 1 to 2^30, got ${String(samplingInterval)}`);
  }
  const mode = options.mode ?? 'allocated';
  if (mode !== 'allocated' && mode !== 'retained')
    throw new UsageError(`traceMalloc: mode is "allocated" or "retained", got ${String(mode)}`);
  const groupBy = options.groupBy ?? 'line';
  if (!GROUP_BY.includes(groupBy)) throw new UsageError(`traceMalloc: groupBy is one of ${GROUP_BY.join(', ')}, got ${String(groupBy)}`);
  const reduceOptions = { groupBy, samplingInterval, isOwnFrame };

  // Calibration: the same sequence around an empty block; whatever it samples is overhead.
  const calibrating = startHeapSampling(samplingInterval, mode);
  await (async () => {})();
  const calibration = siteBytes(calibrating.stop(), reduceOptions);

  const start = new Date();
  const began = performance.now();
  const sampling = startHeapSampling(samplingInterval, mode);
  const outcome = await runBlock(block);
  const profile = sampling.stop();
  const durationSeconds = (performance.now() - began) / 1000;
  const reduced = reduceHeapProfile(profile, { ...reduceOptions, calibration });
  const report = jsHeapReport(
    {
      header: {
        tool: 'trace-malloc',
        target: { pid: process.pid },
        start: start.toISOString(),
        host: hostname(),
        node: process.version,
        durationSeconds,
        samplingInterval,
        mode,
        groupBy,
      },
      sites: reduced.sites,
      stacks: reduced.stacks,
      totals: reduced.totals,
      overhead: {
        ...reduced.overhead,
        how: 'samples whose allocating frame is the inspector or memtrace, and the sites an empty block sampled',
      },
      ...(outcome.threw ? { error: outcome.message } : {}),
    },
    profile,
  );
  if (outcome.threw) rethrowWithReport(outcome.error, report);
  return { result: outcome.result, report };
}

/** Gives a JsHeapReport its top(), its raw profile and toJSON(). */
export function jsHeapReport(report: JsHeapReport, profile: V8HeapProfile): TraceMallocReport {
  return Object.assign(
    Object.create(null) as object,
    report,
    {
      top: (n = 10) => renderJsHeapTable(report, { top: n }),
      toJSON: () => report,
    },
    { profile },
  ) as TraceMallocReport;
}
