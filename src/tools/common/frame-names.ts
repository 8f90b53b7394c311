// The names of a stack's addresses as the reducers take them and as a raw log records them
// (`memtrace_symbols`): plain JSON, so a saved log re-renders on another machine exactly as it
// rendered live. What the symbolizer found beyond the name — whether the address lies in code,
// whether a call precedes it, its place in its file — travels with it.
import type { Frame, FramePlace } from '../../model/stack-profile.js';
import type { MappingHistory } from '../../symbols/proc-maps.js';
import { Symbolizer, type ResolvedFrame } from '../../symbols/symbolizer.js';

export interface ResolvedName {
  name: string;
  module: string | null;
  /** Set for JIT frames named from a perf map. */
  kind?: 'js' | 'python';
  /** False when no symbol covers the address (absent in logs older than this field: the name then starts with 0x). */
  resolved?: boolean;
  /** The address lies in code (ResolvedFrame.code); absent in older logs. */
  code?: boolean;
  /** A call instruction precedes this return address (ResolvedFrame.afterCall). */
  afterCall?: boolean;
  place?: FramePlace;
}

/** What a reducer keeps of a symbolizer's answer for one address. */
export function resolvedName(address: bigint, frame: ResolvedFrame): ResolvedName {
  const name: ResolvedName = { name: frame.name, module: frame.module, resolved: frame.resolved, code: frame.code };
  if (frame.kind !== undefined) name.kind = frame.kind;
  if (frame.afterCall !== undefined) name.afterCall = frame.afterCall;
  if (frame.place !== undefined) {
    const { path, start, end, offset, buildId } = frame.place;
    name.place = {
      path,
      address: hex(address),
      start: hex(start),
      end: hex(end),
      offset: hex(offset),
      ...(buildId === null ? {} : { buildId }),
    };
  }
  return name;
}

/** Whether a name is a symbol's, for the count of unnamed frames (older logs lack `resolved`). */
export function isNamed(name: ResolvedName): boolean {
  return name.resolved ?? !name.name.startsWith('0x');
}

/**
 * The names of a saved log: the names it recorded win (the files may differ on this machine), and
 * what a log older than a field lacks — whether an address is code, its place in its file — is
 * worked out from the log's recorded maps (and the files here, when they are readable).
 */
export async function completeRecordedNames(
  recorded: ReadonlyMap<bigint, ResolvedName>,
  history: MappingHistory | null,
  addresses: readonly bigint[],
  options: { returnAddresses: boolean },
): Promise<Map<bigint, ResolvedName>> {
  const names = new Map<bigint, ResolvedName>();
  const missing = addresses.filter((address) => recorded.get(address)?.code === undefined);
  const fresh =
    history === null || missing.length === 0 ? new Map<bigint, ResolvedFrame>() : await new Symbolizer(history).resolve(missing, options);
  for (const address of addresses) {
    const kept = recorded.get(address);
    const found = fresh.get(address);
    if (found === undefined) {
      if (kept !== undefined) names.set(address, kept);
      continue;
    }
    const computed = resolvedName(address, found);
    // A name recorded as a bare address gains its module+offset form; a recorded symbol stays.
    names.set(
      address,
      kept === undefined
        ? computed
        : { ...computed, ...kept, ...(isNamed(kept) ? { resolved: true } : { name: computed.name, resolved: computed.resolved }) },
    );
  }
  return names;
}

function hex(value: bigint): string {
  return `0x${value.toString(16)}`;
}

/** A frame as the reducers make it: its name, and its module by file name (no directory). */
export function withModule(name: string, module: string | null | undefined): Frame {
  if (!module) return { name };
  const slash = module.lastIndexOf('/');
  return { name, module: slash === -1 ? module : module.slice(slash + 1) };
}

/** Stacks in the order of their frames' names joined, for output that is the same run after run. */
export function compareFrames(a: Frame[], b: Frame[]): number {
  const left = a.map((frame) => frame.name).join(';');
  const right = b.map((frame) => frame.name).join(';');
  return left < right ? -1 : left > right ? 1 : 0;
}
