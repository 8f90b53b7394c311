// A stack profile as pprof: the gzip-compressed protobuf that `go tool pprof`, Pyroscope, Parca and
// speedscope read. Written through the pprof-format package (the encoder Datadog's Node profiler
// uses) rather than a hand-made protobuf writer.
//
// pprof keeps stacks leaf first (memtrace keeps them root first), one Location per distinct frame
// and one Function per distinct name and file. malloc's values take the names Go's heap profiles
// use, so that pprof's `-sample_index` and Pyroscope's heap views know them.
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { StackProfile } from '../model/stack-profile.js';

/** memtrace's malloc value names → Go's heap profile sample types. */
export const GO_HEAP_SAMPLE_TYPES: Record<string, string> = {
  allocs: 'alloc_objects',
  allocBytes: 'alloc_space',
  outstanding: 'inuse_objects',
  outstandingBytes: 'inuse_space',
};

export interface PprofOptions {
  /** Names to give the value types in the profile (default: their own). */
  typeNames?: Record<string, string>;
  /** Wall clock of the start of the profile, and its length. */
  start?: Date;
  durationSeconds?: number;
  /** Free text shown by `pprof -comments`. */
  comments?: string[];
}

export function renderPprof(profile: StackProfile, options: PprofOptions = {}): Buffer {
  const strings = new StringTable();
  const name = (value: string) => options.typeNames?.[value] ?? value;
  const functions = new Map<string, PprofFunction>();
  const locations = new Map<string, Location>();
  const locationOf = (frameName: string, module: string | undefined): Location => {
    const key = `${frameName}\u0000${module ?? ''}`;
    let location = locations.get(key);
    if (location === undefined) {
      let fn = functions.get(key);
      if (fn === undefined) {
        fn = new PprofFunction({ id: functions.size + 1, name: strings.dedup(frameName), systemName: strings.dedup(frameName), filename: strings.dedup(module ?? '') });
        functions.set(key, fn);
      }
      location = new Location({ id: locations.size + 1, line: [new Line({ functionId: fn.id })] });
      locations.set(key, location);
    }
    return location;
  };
  const samples = profile.samples.map(
    (sample) =>
      new Sample({
        locationId: [...sample.frames].reverse().map((frame) => locationOf(frame.name, frame.module).id),
        value: profile.valueTypes.map((type) => Math.round(sample.values[type.name] ?? 0)),
      }),
  );
  const encoded = new Profile({
    sampleType: profile.valueTypes.map((type) => new ValueType({ type: strings.dedup(name(type.name)), unit: strings.dedup(type.unit) })),
    sample: samples,
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    defaultSampleType: strings.dedup(name(profile.defaultValue)),
    timeNanos: options.start === undefined ? 0 : BigInt(options.start.getTime()) * 1_000_000n,
    durationNanos: options.durationSeconds === undefined ? 0 : Math.round(options.durationSeconds * 1e9),
    comment: (options.comments ?? []).map((comment) => strings.dedup(comment)),
  }).encode();
  return gzipSync(encoded);
}
