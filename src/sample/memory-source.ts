// Where a sampler gets a process's memory: /proc on Linux (a pinned statm descriptor per process,
// near-zero cost), `ps` on macOS (one short-lived process per sample: dearer, and said so in the docs).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ChildSample } from '../model/series.js';
import { descendants } from './process-tree.js';
import { listProcesses, StatmReader, type ProcessMemory } from './linux-proc.js';
import { parsePsOutput, PS_COLUMNS, type PsProcess } from './ps-output.js';

const run = promisify(execFile);

export interface MemorySource {
  /** The target's memory; null once it has gone. */
  target(): Promise<ProcessMemory | null>;
  /** The target's descendants now, each with its memory. */
  children(): Promise<ChildSample[]>;
  /** Both at once, synchronously, where the source can (a sample then costs no promise). */
  readSync?(withChildren: boolean): { memory: ProcessMemory | null; children: ChildSample[] };
  close(): void;
}

export function memorySource(pid: number, platform: NodeJS.Platform = process.platform): MemorySource {
  return platform === 'linux' ? new ProcMemorySource(pid) : new PsMemorySource(pid);
}

class ProcMemorySource implements MemorySource {
  private readonly reader: StatmReader;
  private readonly childReaders = new Map<number, StatmReader>();

  constructor(private readonly pid: number) {
    this.reader = new StatmReader(pid);
  }

  async target(): Promise<ProcessMemory | null> {
    return this.reader.read();
  }

  async children(): Promise<ChildSample[]> {
    return this.childrenNow();
  }

  readSync(withChildren: boolean): { memory: ProcessMemory | null; children: ChildSample[] } {
    const memory = this.reader.read();
    return { memory, children: memory !== null && withChildren ? this.childrenNow() : [] };
  }

  private childrenNow(): ChildSample[] {
    const found = descendants(listProcesses(), this.pid);
    const alive = new Set(found.map((child) => child.pid));
    for (const [pid, reader] of this.childReaders) {
      if (!alive.has(pid)) {
        reader.close();
        this.childReaders.delete(pid);
      }
    }
    const samples: ChildSample[] = [];
    for (const child of found) {
      let reader = this.childReaders.get(child.pid);
      if (reader === undefined) {
        try {
          reader = new StatmReader(child.pid);
        } catch {
          continue; // exited since the listing
        }
        this.childReaders.set(child.pid, reader);
      }
      const memory = reader.read();
      if (memory !== null) samples.push({ pid: child.pid, ppid: child.ppid, name: child.name, rss: memory.rss, vsz: memory.vsz });
    }
    return samples;
  }

  close(): void {
    this.reader.close();
    for (const reader of this.childReaders.values()) reader.close();
    this.childReaders.clear();
  }
}

class PsMemorySource implements MemorySource {
  constructor(private readonly pid: number) {}

  async target(): Promise<ProcessMemory | null> {
    const found = (await this.ps(['-p', String(this.pid)])).find((entry) => entry.pid === this.pid);
    return found === undefined ? null : { rss: found.rss, vsz: found.vsz };
  }

  async children(): Promise<ChildSample[]> {
    return descendants(await this.ps(['-A']), this.pid).map(({ pid, ppid, name, rss, vsz }) => ({ pid, ppid, name, rss, vsz }));
  }

  close(): void {}

  private async ps(selection: string[]): Promise<PsProcess[]> {
    const args = ['-o', PS_COLUMNS, ...selection];
    try {
      const { stdout } = await run('ps', args, { encoding: 'utf8' });
      return parsePsOutput(stdout, `ps ${args.join(' ')}`);
    } catch (error) {
      // ps exits 1 when -p names no process: the target has gone.
      if ((error as { code?: unknown }).code === 1) return [];
      throw error;
    }
  }
}
