// CPython's pymalloc arenas as claims on the anonymous mappings they sit in (sample/pymalloc-arenas.ts
// finds them by their pools' headers): each arena's resident bytes, split into pools in use and empty
// pools, which pymalloc keeps until its whole arena is empty.
import { unreadableNote } from '../../sample/process-memory.js';
import { readPymalloc } from '../../sample/pymalloc-arenas.js';
import type { SmapsMapping } from '../../symbols/proc-smaps.js';
import type { ResidentClaim } from './classify.js';

export const PYMALLOC_IN_USE = 'pools in use';
export const PYMALLOC_EMPTY = 'empty pools (kept by pymalloc)';

export interface PythonArenas {
  claims: ResidentClaim[];
  /** What the report says of the scan: the runtime, or why there is no pymalloc part. */
  notes: string[];
}

export async function readPythonArenas(pid: number, mappings: SmapsMapping[]): Promise<PythonArenas | null> {
  let reading: Awaited<ReturnType<typeof readPymalloc>>;
  try {
    reading = await readPymalloc(pid, mappings);
  } catch (error) {
    return { claims: [], notes: [`CPython's pymalloc arenas are not read: ${unreadableNote(error)}`] };
  }
  if (reading.status === 'not-cpython') return null;
  const runtime = `CPython ${reading.runtime.major}.${reading.runtime.minor}`;
  if (reading.status === 'unsupported') return { claims: [], notes: [`${runtime}: its pymalloc arenas are not read (${reading.reason})`] };
  const { scan } = reading;
  const claims = scan.arenas.flatMap((arena): ResidentClaim[] => [
    { start: arena.start, end: arena.end, kind: 'pymalloc', name: PYMALLOC_EMPTY, residentBytes: arena.emptyResidentBytes },
    {
      start: arena.start,
      end: arena.end,
      kind: 'pymalloc',
      name: PYMALLOC_IN_USE,
      residentBytes: arena.residentBytes - arena.emptyResidentBytes,
    },
  ]);
  const notes = scan.notes.map((note) => `${runtime} pymalloc: ${note}`);
  if (!scan.complete) notes.unshift(`${runtime}: the scan of pymalloc's arenas stopped early; the part is a lower bound`);
  return { claims, notes };
}
