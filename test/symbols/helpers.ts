// Shared setup for the symbols tests: compile the known workloads in test/fixtures/symbols into a
// temporary directory, run them until they say "ready", and read reference answers from binutils.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/symbols/', import.meta.url));
export const SYSTEM_LIBC = '/lib/x86_64-linux-gnu/libc.so.6';

/** A fresh temporary directory; call the returned cleanup from test.after.always. */
export function makeTemporaryDirectory(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `memtrace-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles a fixture (C with gcc, C++ with g++) the way the workloads expect: -O0, frame pointers. */
export function compileFixture(source: string, output: string, extraFlags: string[] = []): string {
  const compiler = source.endsWith('.cpp') ? 'g++' : 'gcc';
  execFileSync(compiler, ['-O0', '-fno-omit-frame-pointer', ...extraFlags, '-o', output, join(FIXTURES, source)], { stdio: 'pipe' });
  return output;
}

export interface RunningTarget {
  pid: number;
  /** The `key value` lines printed before "ready", e.g. `alpha 0x55…` → alpha: 0x55…n. */
  addresses: Map<string, bigint>;
  stop(): void;
}

/** Starts a workload and resolves once it prints "ready"; its earlier `name 0xHEX` lines are parsed. */
export function startTarget(path: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<RunningTarget> {
  const child: ChildProcess = spawn(path, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${path} did not print "ready" within 10 s; got ${JSON.stringify(text)}`));
    }, 10_000);
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`${path} exited with ${code} before "ready"; got ${JSON.stringify(text)}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (!/^ready$/m.test(text)) return;
      clearTimeout(timer);
      const addresses = new Map<string, bigint>();
      for (const match of text.matchAll(/^(\S+) (0x[0-9a-f]+)$/gm)) addresses.set(match[1]!, BigInt(match[2]!));
      resolve({ pid: child.pid!, addresses, stop: () => void child.kill('SIGKILL') });
    });
  });
}

/**
 * nm's function symbols as address → names, with `@VERSION` suffixes removed: types T/t/W/w/i
 * inside an executable PT_LOAD (nm also types weak *data* such as `data_start` as W).
 */
export function nmFunctions(path: string, dynamic: boolean): Map<bigint, string[]> {
  const code = readelfLoadSegments(path).filter((s) => s.flags.includes('E'));
  const output = execFileSync('nm', [...(dynamic ? ['-D'] : []), '--defined-only', path], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const byAddress = new Map<bigint, string[]>();
  for (const match of output.matchAll(/^([0-9a-f]+) [TtWwi] (\S+)$/gm)) {
    const address = BigInt(`0x${match[1]}`);
    if (!code.some((s) => address >= s.vaddr && address < s.vaddr + s.filesz)) continue;
    const names = byAddress.get(address) ?? [];
    names.push(match[2]!.replace(/@.*$/, ''));
    byAddress.set(address, names);
  }
  return byAddress;
}

/** The PT_LOAD rows of `readelf -lW`: offset, vaddr, filesz, memsz and the flags letters. */
export function readelfLoadSegments(path: string): { offset: bigint; vaddr: bigint; filesz: bigint; memsz: bigint; flags: string }[] {
  const output = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  return [
    ...output.matchAll(/^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x/gm),
  ].map((m) => ({
    offset: BigInt(m[1]!),
    vaddr: BigInt(m[2]!),
    filesz: BigInt(m[3]!),
    memsz: BigInt(m[4]!),
    flags: m[5]!.replace(/\s/g, ''),
  }));
}

/** Whether a command runs at all (`--version` exits 0). */
export function commandWorks(command: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
