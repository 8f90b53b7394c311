// Tells from a process's mappings whether it runs CPython, and which version: the interpreter is
// either the executable itself (Debian's /usr/bin/python3.11 and pyenv's builds link libpython in
// statically) or a mapped libpython3.X.so (an --enable-shared build, or a program that embeds
// Python, such as uwsgi). The version is read from the file's name, which CPython's build gives it:
// `python$(VERSION)$(ABIFLAGS)` and `libpython$(VERSION)$(ABIFLAGS).so[.1.0]` (Makefile.pre.in).
//
// ABIFLAGS: `d` is a debug build (Py_DEBUG: pymalloc's arenas as usual, blocks with debug padding),
// `t` a free-threaded build (3.13+, Py_GIL_DISABLED: objects come from mimalloc, there are no
// pymalloc arenas), `m` the pymalloc flag of 3.7 and earlier.
//
// A symlink such as /usr/bin/python3 or a virtualenv's bin/python shows in the maps as the file it
// resolves to, so the name read is the versioned one.

export interface CPythonRuntime {
  major: number;
  minor: number;
  /** The ABI flags of the name ('' for a default build): `d` debug, `t` free-threaded, `m` (≤ 3.7) pymalloc. */
  abiFlags: string;
  /** The mapped file the version was read from. */
  path: string;
  /** 'executable' for a pythonX.Y binary, 'library' for libpythonX.Y.so. */
  kind: 'executable' | 'library';
}

/** What the detection needs of a mapping: its path, as /proc/PID/maps shows it. */
export interface MappedPath {
  path: string;
}

const EXECUTABLE = /^python(\d+)\.(\d+)([a-z]*)$/;
const LIBRARY = /^libpython(\d+)\.(\d+)([a-z]*)\.so(?:\.\d+)*$/;

/** The CPython runtime `path` is, or null when its base name is neither a pythonX.Y binary nor a libpythonX.Y.so. */
export function cpythonOfPath(path: string): CPythonRuntime | null {
  const name = path.replace(/ \(deleted\)$/, '').replace(/^.*\//, '');
  const library = LIBRARY.exec(name);
  const executable = library === null ? EXECUTABLE.exec(name) : null;
  const match = library ?? executable;
  if (match === null) return null;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    abiFlags: match[3]!,
    path,
    kind: library === null ? 'executable' : 'library',
  };
}

/**
 * The CPython runtime a process runs, from its mappings; null when none is mapped. A libpython
 * wins over an executable's name: a program that embeds Python maps only the library, and when both
 * are mapped (a shared build), the library is the interpreter.
 */
export function cpythonOfMappings(mappings: readonly MappedPath[]): CPythonRuntime | null {
  let found: CPythonRuntime | null = null;
  const seen = new Set<string>();
  for (const { path } of mappings) {
    if (path === '' || path.startsWith('[') || seen.has(path)) continue;
    seen.add(path);
    const runtime = cpythonOfPath(path);
    if (runtime === null) continue;
    if (found === null || (found.kind === 'executable' && runtime.kind === 'library')) found = runtime;
  }
  return found;
}
