// Which tracer produced a profile or log, and what memtrace chose because of what that tracer can do
// (where free was probed, whether probes trap in other processes): shown in every report's header.
export interface TracerInfo {
  name: string;
  /** null when the log does not say. */
  version: string | null;
  /** memtrace's choices for this tracer, one sentence each; absent in logs that predate them. */
  choices?: string[];
  /** How user stacks were unwound: frame pointers or DWARF; absent in logs that predate the choice. */
  stacks?: 'fp' | 'dwarf';
}
