// Builds the C workloads of test/workloads/ once per test process, with frame pointers (stacks are
// walked along them) and without builtins (gcc would turn realloc(NULL, n) into malloc(n)); or, for
// the DWARF unwinding tests, optimized and without frame pointers, as distributions build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const built = new Map<string, string>();

const WITH_FRAME_POINTERS = ['-O0', '-g', '-fno-builtin', '-fno-omit-frame-pointer'];
const WITHOUT_FRAME_POINTERS = ['-O2', '-fno-builtin', '-fomit-frame-pointer'];

export function buildWorkload(name: string): string {
  return build(name, name, WITH_FRAME_POINTERS);
}

/** `name` built -O2 -fomit-frame-pointer (test/workloads/bin/NAME-nofp): only .eh_frame tells how to unwind it. */
export function buildWorkloadWithoutFramePointers(name: string): string {
  return build(name, `${name}-nofp`, WITHOUT_FRAME_POINTERS);
}

function build(name: string, binaryName: string, flags: string[]): string {
  const cached = built.get(binaryName);
  if (cached !== undefined) return cached;
  const source = `${ROOT}test/workloads/${name}.c`;
  const binary = `${ROOT}test/workloads/bin/${binaryName}`;
  mkdirSync(`${ROOT}test/workloads/bin`, { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(binary).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync('gcc', [...flags, '-o', binary, source]);
  built.set(binaryName, binary);
  return binary;
}

export function fixture(path: string): string {
  return `${ROOT}test/fixtures/${path}`;
}
