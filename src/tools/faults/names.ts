// Names the addresses of a faults trace, live or from a raw log's recorded mappings: leaves as
// instructions, callers as return addresses. Apart from tools/faults/faults.ts so that `memtrace report`
// names a recorded trace without loading the tracing session.
import type { MappingHistory } from '../../symbols/proc-maps.js';
import { Symbolizer, type ResolvedFrame } from '../../symbols/symbolizer.js';
import { resolvedName } from '../common/frame-names.js';
import type { FaultsNames, FrameName } from './reduce.js';

/** Names every address through the symbolizer: leaves as instructions, callers as return addresses. */
export async function resolveFaultsNames(
  history: MappingHistory,
  addresses: { leaves: bigint[]; callers: bigint[] },
): Promise<FaultsNames> {
  const symbolizer = new Symbolizer(history);
  const named = (resolved: Map<bigint, ResolvedFrame>) =>
    new Map<bigint, FrameName>(
      [...resolved].map(([address, frame]) => [address, { ...resolvedName(address, frame), resolved: frame.resolved }]),
    );
  return {
    leaves: named(await symbolizer.resolve(addresses.leaves, { returnAddresses: false })),
    callers: named(await symbolizer.resolve(addresses.callers, { returnAddresses: true })),
  };
}
