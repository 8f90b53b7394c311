// The allocator's state of a running process, read from outside: for glibc, its arenas walked through
// /proc/PID/mem at the addresses that libc6-dbg's symbols give. Adapts the walk to what the classifier
// and the report need.
import type { AllocatorState } from '../../model/rss-explanation.js';
import type { SmapsMapping } from '../../symbols/proc-smaps.js';
import type { MallocLayout } from './classify.js';

export interface AllocatorReading {
  layout: MallocLayout | null;
  state: AllocatorState | null;
  /** Why the allocator could not be read; null when it was. */
  note: string | null;
}

export async function readAllocatorState(_pid: number, _mappings: SmapsMapping[]): Promise<AllocatorReading> {
  return { layout: null, state: null, note: "glibc's arenas are not read yet" };
}
