// --push for `memtrace report`: the profile a log became goes to a Pyroscope server as pprof (see
// pyroscope-push.ts for the request), besides or instead of the reports written.
import { renderMalloc } from '../../report/index.js';
import { GO_HEAP_SAMPLE_TYPES } from '../../report/pprof.js';
import type { MallocProfile, MallocValueName } from '../../model/malloc-profile.js';
import type { StackProfile } from '../../model/stack-profile.js';
import { pushToPyroscope, type PyroscopePush, type PyroscopeSampleType } from './pyroscope.js';
import type { ReportInputOptions, ReportIo } from './input.js';

/** With --push and no -o or -f, the profile goes to Pyroscope only: no table on stdout. */
export function pushOnly(options: ReportInputOptions): boolean {
  return options.push !== null && options.outputs.length === 0 && options.format === null;
}

/** Pyroscope's view of malloc's values: counts are objects; what is held at the end is averaged over time, not summed. */
const MALLOC_PYROSCOPE_TYPES: PyroscopeSampleType[] = [
  { name: GO_HEAP_SAMPLE_TYPES.allocs!, units: 'objects', aggregation: 'sum' },
  { name: GO_HEAP_SAMPLE_TYPES.allocBytes!, units: 'bytes', aggregation: 'sum' },
  { name: GO_HEAP_SAMPLE_TYPES.outstanding!, units: 'objects', aggregation: 'average' },
  { name: GO_HEAP_SAMPLE_TYPES.outstandingBytes!, units: 'bytes', aggregation: 'average' },
];

export async function pushMalloc(profile: MallocProfile, push: PyroscopePush, value: MallocValueName, io: ReportIo): Promise<void> {
  const seconds = profile.durationSeconds ?? 0;
  // A log that does not say when it was taken is filed as ending now.
  const from = profile.startedAt === null ? new Date(Date.now() - seconds * 1000) : new Date(profile.startedAt);
  const url = await pushToPyroscope(push, {
    pprof: renderMalloc(profile, 'pprof', { value }) as Buffer,
    types: MALLOC_PYROSCOPE_TYPES,
    from,
    until: new Date(from.getTime() + seconds * 1000),
  });
  io.stderr.write(`memtrace: pushed the profile to ${url.origin} as ${url.searchParams.get('name')}\n`);
}

/** A folded profile has no time of its own: it is filed as the second before now. */
export async function pushStackProfile(profile: StackProfile, pprof: Buffer, push: PyroscopePush, io: ReportIo): Promise<void> {
  const types = profile.valueTypes.map((type): PyroscopeSampleType => ({
    name: type.name,
    units: type.unit === 'bytes' ? 'bytes' : 'samples',
    aggregation: 'sum',
  }));
  const until = new Date();
  const url = await pushToPyroscope(push, { pprof, types, from: new Date(until.getTime() - 1000), until });
  io.stderr.write(`memtrace: pushed the profile to ${url.origin} as ${url.searchParams.get('name')}\n`);
}
