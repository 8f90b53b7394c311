// Which library's allocator a target really uses: the one that defines malloc among the files it
// maps. A program may link jemalloc or tcmalloc, have one preloaded, or carry its own allocator; libc's
// malloc is only the default when nothing earlier in symbol lookup order defines one.
import { execa } from 'execa';
import { UsageError } from '../../errors.js';
import { readElf } from '../../symbols/elf.js';
import { readProcMaps, type Mapping } from '../../symbols/proc-maps.js';

export type AllocatorName = 'glibc' | 'jemalloc' | 'tcmalloc' | 'mimalloc';

export const ALLOCATOR_LIBRARIES: Record<AllocatorName, RegExp> = {
  glibc: /\/libc\.so\.6$/,
  jemalloc: /\/libjemalloc\.so[.0-9]*$/,
  tcmalloc: /\/libtcmalloc(?:_minimal)?\.so[.0-9]*$/,
  mimalloc: /\/libmimalloc\.so[.0-9]*$/,
};

export function parseAllocatorName(value: string): AllocatorName {
  if (value in ALLOCATOR_LIBRARIES) return value as AllocatorName;
  throw new UsageError(
    `--allocator: expected one of ${Object.keys(ALLOCATOR_LIBRARIES).join(', ')}, got ${JSON.stringify(value)} (use --lib PATH --prefix PFX for others)`,
  );
}

/** Files mapped executable, in address order, without duplicates or pseudo-files. */
function mappedFiles(mappings: readonly Mapping[]): string[] {
  const files: string[] = [];
  for (const mapping of mappings) {
    if (!mapping.perms.includes('x') || !mapping.path.startsWith('/') || files.includes(mapping.path)) continue;
    files.push(mapping.path);
  }
  return files;
}

/** The library to probe in a running process. */
export async function findAllocatorInMaps(mappings: readonly Mapping[], allocator: AllocatorName | null, pid: number): Promise<string> {
  const files = mappedFiles(mappings);
  if (allocator !== null) {
    const found = files.find((file) => ALLOCATOR_LIBRARIES[allocator].test(file));
    if (found === undefined)
      throw new UsageError(
        `process ${pid} does not map a ${allocator} library (looked for ${ALLOCATOR_LIBRARIES[allocator].source}); pass --lib PATH`,
      );
    return found;
  }
  const definers: string[] = [];
  for (const file of files) {
    if (/\/ld-linux[^/]*\.so/.test(file)) continue; // the loader's own minimal malloc is only used before libc loads
    try {
      const elf = await readElf(file);
      if (elf.findFunction('malloc') !== undefined) definers.push(file);
    } catch {
      // Not readable or not ELF (a deleted file, a JIT region): cannot define the allocator we probe.
    }
  }
  const preferred = definers.find((file) => !ALLOCATOR_LIBRARIES.glibc.test(file)) ?? definers[0];
  if (preferred === undefined)
    throw new UsageError(`no file mapped by process ${pid} defines malloc (is it statically linked and stripped?); pass --lib PATH`);
  return preferred;
}

/** The library a command memtrace launches will use: the C library memtrace itself runs on, or one found by the loader cache. */
export async function findAllocatorForLaunch(allocator: AllocatorName | null): Promise<string> {
  const wanted = allocator ?? 'glibc';
  if (wanted === 'glibc') {
    const libc = (await readProcMaps(process.pid)).find((mapping) => ALLOCATOR_LIBRARIES.glibc.test(mapping.path));
    if (libc) return libc.path;
  }
  const cache = await execa('ldconfig', ['-p'], { reject: false });
  for (const line of `${cache.stdout}`.split('\n')) {
    const path = line.split(' => ')[1]?.trim();
    if (path && ALLOCATOR_LIBRARIES[wanted].test(path)) return path;
  }
  throw new UsageError(`cannot find the ${wanted} library in the loader cache (ldconfig -p); pass --lib PATH`);
}
