// Where memtrace-dtrace probes free. At its entry on macOS, and wherever the allocator's file cannot
// be read as glibc's; on Linux, past glibc's NULL test, where memtrace-bpf probes it too
// (src/symbols/elf-alias.ts: the first instruction, `test %rdi,%rdi`, is single-stepped, the one
// after it emulated). Measured under DTrace for Linux 2.0.7 (docs/performance.md): a malloc+free
// count costs 10.98 µs a pair with free at its entry, 2.41 µs with `free:9`.
import { basename } from 'node:path';
import type { FreeProbe } from '../../probes/malloc-spec.js';
import type { Target } from '../../run/target.js';
import { findFreeBody } from '../../symbols/elf-alias.js';
import { readElf } from '../../symbols/elf.js';
import { readProcMaps } from '../../symbols/proc-maps.js';

export interface DtraceFreeChoice {
  free: FreeProbe;
  /** What was chosen and why, for the report's tracer choices; null when free is probed at its entry as always. */
  choice: string | null;
}

const AT_ENTRY: DtraceFreeChoice = { free: { mode: 'entry' }, choice: null };

/**
 * The probe for `free` in `module` (a pid-provider module name such as libc.so.6). The file is the
 * one the target maps under that name (attached), or the one memtrace itself maps (launched: the
 * command runs on the same C library, as memtrace-bpf assumes for a launch too).
 */
export async function chooseDtraceFreeProbe(
  module: string,
  target: Target,
  platform: NodeJS.Platform = process.platform,
): Promise<DtraceFreeChoice> {
  if (platform !== 'linux') return AT_ENTRY;
  const file = await moduleFile(module, target.kind === 'attach' ? target.pid : process.pid);
  if (file === null) return AT_ENTRY;
  let body;
  try {
    body = await findFreeBody(await readElf(file), 'free');
  } catch {
    return AT_ENTRY; // not readable, or not ELF: probe the entry, as on any other system
  }
  // Only with the NULL case's own probe: free(NULL) stays counted, as at the entry.
  if (body === null || body.nullReturnOffset === null) return AT_ENTRY;
  return {
    free: { mode: 'offset', bodyOffset: body.bodyOffset, nullOffset: body.nullReturnOffset },
    choice: `free probed at free:${body.bodyOffset.toString(16)}, past its NULL test (an offset probe: the instruction there is emulated, not single-stepped); free(NULL) at free:${body.nullReturnOffset.toString(16)}`,
  };
}

/** The file a process maps executable under the module name, or null. */
async function moduleFile(module: string, pid: number): Promise<string | null> {
  try {
    const mapping = (await readProcMaps(pid)).find(
      (entry) => entry.perms.includes('x') && entry.path.startsWith('/') && basename(entry.path) === module,
    );
    return mapping?.path ?? null;
  } catch {
    return null; // the process is gone: dtrace will say so
  }
}
