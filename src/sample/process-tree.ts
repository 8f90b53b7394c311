// The descendants of a process, from a flat list of (pid, ppid): shared by the Linux /proc reader
// and the macOS `ps` reader.

export interface ProcessEntry {
  pid: number;
  ppid: number;
  name: string;
}

/** Descendants of `root` (not root itself), parents before children, each level by PID. */
export function descendants<T extends ProcessEntry>(processes: readonly T[], root: number): T[] {
  const byParent = new Map<number, T[]>();
  for (const process of processes) {
    if (process.pid === root && process.ppid === root) continue;
    const siblings = byParent.get(process.ppid) ?? [];
    siblings.push(process);
    byParent.set(process.ppid, siblings);
  }
  const found: T[] = [];
  const seen = new Set<number>([root]);
  let level = [root];
  while (level.length > 0) {
    const next: number[] = [];
    for (const parent of level) {
      for (const child of (byParent.get(parent) ?? []).sort((a, b) => a.pid - b.pid)) {
        if (seen.has(child.pid)) continue;
        seen.add(child.pid);
        found.push(child);
        next.push(child.pid);
      }
    }
    level = next;
  }
  return found;
}
