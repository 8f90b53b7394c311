// A stack profile as pprof: the gzip-compressed protobuf that `go tool pprof`, Pyroscope, Parca and
// speedscope read. Written through the pprof-format package (the encoder Datadog's Node profiler
// uses) rather than a hand-made protobuf writer.
//
// pprof keeps stacks leaf first (memtrace keeps them root first), one Location per distinct frame
// and one Function per distinct name and file. malloc's values take the names Go's heap profiles
// use, so that pprof's `-sample_index` and Pyroscope's heap views know them.
//
// A frame memtrace walked itself knows where it lay (Frame.place): its Location carries the address
// and a Mapping (the file's path, build-id, the runtime range and file offset), so `go tool pprof`
// can symbolize it again against the binaries (`-symbolize=local`), and `-raw` shows both. Frames of
// foreign inputs (folded, dtrace) have names only.
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { frameKey, type Frame, type FramePlace, type StackProfile } from '../model/stack-profile.js';

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
  const mappings = new Map<string, Mapping>();
  const functionOf = (frame: Frame): PprofFunction => {
    // A frame with a source place (a Python or JS function a ustack helper named) is a function of
    // that source file; its line goes in the Location's Line, as pprof's own profiles do.
    const filename = frame.source?.file ?? frame.module ?? '';
    const key = `${frame.name}\u0000${filename}`;
    let fn = functions.get(key);
    if (fn === undefined) {
      fn = new PprofFunction({
        id: functions.size + 1,
        name: strings.dedup(frame.name),
        systemName: strings.dedup(frame.name),
        filename: strings.dedup(filename),
      });
      functions.set(key, fn);
    }
    return fn;
  };
  const mappingOf = (place: FramePlace): Mapping => {
    const key = `${place.path}\u0000${place.start}`;
    let mapping = mappings.get(key);
    if (mapping === undefined) {
      mapping = new Mapping({
        id: mappings.size + 1,
        memoryStart: BigInt(place.start),
        memoryLimit: BigInt(place.end),
        fileOffset: BigInt(place.offset),
        filename: strings.dedup(place.path),
        buildId: strings.dedup(place.buildId ?? ''),
        hasFunctions: true,
      });
      mappings.set(key, mapping);
    }
    return mapping;
  };
  const locationOf = (frame: Frame): Location => {
    const place = frame.place;
    const key = place === undefined ? frameKey(frame) : `${frame.name}\u0000${place.path}\u0000${place.address}`;
    let location = locations.get(key);
    if (location === undefined) {
      const line = [new Line({ functionId: functionOf(frame).id, line: frame.source?.line ?? 0 })];
      location =
        place === undefined
          ? new Location({ id: locations.size + 1, line })
          : new Location({ id: locations.size + 1, line, address: BigInt(place.address), mappingId: mappingOf(place).id });
      locations.set(key, location);
    }
    return location;
  };
  const samples = profile.samples.map(
    (sample) =>
      new Sample({
        locationId: [...sample.frames].reverse().map((frame) => locationOf(frame).id),
        value: profile.valueTypes.map((type) => Math.round(sample.values[type.name] ?? 0)),
      }),
  );
  const encoded = new Profile({
    sampleType: profile.valueTypes.map((type) => new ValueType({ type: strings.dedup(name(type.name)), unit: strings.dedup(type.unit) })),
    sample: samples,
    mapping: [...mappings.values()],
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
