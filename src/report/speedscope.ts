// A stack profile as a speedscope file (https://www.speedscope.app, "Open" or drag and drop; also
// `npx speedscope FILE`): one `sampled` profile per value type, so that allocated and outstanding
// bytes (or counts) are switched between in speedscope's profile menu, the default value shown first.
//
// Reference: speedscope's src/lib/file-format-spec.ts (read at commit 5236f55) and the JSON schema
// generated from it, https://www.speedscope.app/file-format-schema.json. Frames are interned in
// `shared.frames` (name, and the module as `file`); each sample is a root-first list of indexes
// into them, with its weight in `weights`. Units: bytes stay `bytes`, nanoseconds `nanoseconds`,
// and counts have no speedscope unit, so they are `none`. A sampled profile's `endValue` is the
// sum of its weights: speedscope takes endValue - startValue as the profile's total.
import { frameKey, type Frame, type StackProfile, type ValueType } from '../model/stack-profile.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

type SpeedscopeUnit = 'none' | 'nanoseconds' | 'bytes';

interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
}

interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: SpeedscopeUnit;
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export interface SpeedscopeOptions {
  /** The name of the file's profile group, shown in speedscope's title bar. */
  name: string;
  /** Names to show for the value types (default: their own). */
  typeNames?: Record<string, string>;
  /** What is partial or lost (a cut trace, lines skipped under --lenient): shown after the name, as speedscope has no other place for it. */
  notes?: string[];
}

const UNITS: Record<ValueType['unit'], SpeedscopeUnit> = { bytes: 'bytes', nanoseconds: 'nanoseconds', count: 'none' };

export function renderSpeedscope(profile: StackProfile, options: SpeedscopeOptions): string {
  const frames: SpeedscopeFrame[] = [];
  const frameIndex = new Map<string, number>();
  const indexOf = (frame: Frame): number => {
    const key = frameKey(frame);
    let index = frameIndex.get(key);
    if (index === undefined) {
      index = frames.length;
      frames.push(speedscopeFrame(frame));
      frameIndex.set(key, index);
    }
    return index;
  };
  const stacks = profile.samples.map((sample) => sample.frames.map(indexOf));
  // The default value first: speedscope opens activeProfileIndex, and lists profiles in this order.
  const types = [...profile.valueTypes].sort((a, b) => Number(b.name === profile.defaultValue) - Number(a.name === profile.defaultValue));
  const profiles = types.map((type): SpeedscopeSampledProfile => {
    const samples: number[][] = [];
    const weights: number[] = [];
    profile.samples.forEach((sample, index) => {
      const weight = sample.values[type.name] ?? 0;
      // A stack with nothing of this value (all its blocks freed) is no sample of the outstanding profile.
      if (weight <= 0) return;
      samples.push(stacks[index]!);
      weights.push(weight);
    });
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    return {
      type: 'sampled',
      name: `${options.name}: ${options.typeNames?.[type.name] ?? type.name}`,
      unit: UNITS[type.unit],
      startValue: 0,
      endValue: total,
      samples,
      weights,
    };
  });
  const name = options.notes === undefined || options.notes.length === 0 ? options.name : `${options.name} (${options.notes.join('; ')})`;
  const file: SpeedscopeFile = {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles,
    name,
    activeProfileIndex: 0,
    exporter: 'memtrace',
  };
  return `${JSON.stringify(file)}\n`;
}

/** speedscope's frame: the module as `file`, or the source file and line a ustack helper gave. */
function speedscopeFrame(frame: Frame): SpeedscopeFrame {
  if (frame.source !== undefined)
    return frame.source.line === undefined
      ? { name: frame.name, file: frame.source.file }
      : { name: frame.name, file: frame.source.file, line: frame.source.line };
  return frame.module === undefined ? { name: frame.name } : { name: frame.name, file: frame.module };
}
