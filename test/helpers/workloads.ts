// Builds the C workloads of test/workloads/ once per test process, with frame pointers (stacks are
// walked along them) and without builtins (gcc would turn realloc(NULL, n) into malloc(n)).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const built = new Map<string, string>();

export function buildWorkload(name: string): string {
  const cached = built.get(name);
  if (cached !== undefined) return cached;
  const source = `${ROOT}test/workloads/${name}.c`;
  const binary = `${ROOT}test/workloads/bin/${name}`;
  mkdirSync(`${ROOT}test/workloads/bin`, { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(binary).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync('gcc', ['-O0', '-g', '-fno-builtin', '-fno-omit-frame-pointer', '-o', binary, source]);
  built.set(name, binary);
  return binary;
}

export function fixture(path: string): string {
  return `${ROOT}test/fixtures/${path}`;
}
