// memtrace's private bpftrace: a Debian-testing root file system under /var/lib/memtrace that
// `memtrace setup-bpftrace` builds, and the wrapper script DIR/bpftrace that runs its bpftrace on
// this machine. What the set-up writes and what discovery trusts are defined here, together.
//
// Why a wrapper through the root's loader and not chroot: a probe names the traced program's files
// (/usr/lib/…/libc.so.6, /usr/bin/node): inside a chroot those paths would be the root's own files,
// so the probes would sit on other inodes. Run through the root's loader, the newer bpftrace uses its
// own libraries (libbpf, LLVM) and sees this machine's files, /proc and tracefs.
import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { TracerError, UsageError } from '../errors.js';

export const DEFAULT_PRIVATE_ROOT = '/var/lib/memtrace/bpftrace-root';
/** Written in DIR before anything else: a directory without it is not memtrace's to fill or delete. */
export const MARKER_NAME = '.memtrace-bpftrace-root';
export const WRAPPER_NAME = 'bpftrace';
/** DTrace for Linux's wrapper, written beside bpftrace's when the root has the dtrace package. */
export const DTRACE_WRAPPER_NAME = 'dtrace';
/**
 * The D library directory memtrace prepares for the root's dtrace (dtrace-libdir.ts): the root's
 * own, minus the translators this kernel cannot load. It lives beside the root's files, never in them.
 */
export const DTRACE_LIBDIR_NAME = '.memtrace-dtrace-libdir';
/**
 * The lean one memtrace's own programs run with (dtrace-libdir.ts): the libdir without D library
 * files, whose kernel types cost DTrace for Linux 2-7 s a run here.
 */
export const DTRACE_LEAN_LIBDIR_NAME = '.memtrace-dtrace-libdir-lean';
/**
 * What memtrace sets in the environment of every dtrace it runs: the wrapper then gives dtrace the
 * lean libdir. Any other dtrace ignores it. A value, not a path: the wrapper alone names directories.
 */
export const DTRACE_LIBS_VARIABLE = 'MEMTRACE_DTRACE_LIBS';
export const DTRACE_LEAN_ENV: Readonly<Record<string, string>> = { [DTRACE_LIBS_VARIABLE]: 'lean' };
/** Where the dtrace package keeps its binary and D libraries in a Debian root (x64 and arm64 alike, by multiarch name). */
export const ROOT_DTRACE = 'usr/sbin/dtrace';

export interface RootMarker {
  madeBy: 'memtrace setup-bpftrace';
  suite: string;
  packages: string[];
  mirror: string;
  /** false from the moment the directory is claimed until debootstrap has finished. */
  complete: boolean;
  /** The D library directory prepared for the root's dtrace, and the files of the root's left out of it (relative to its libdir). */
  dtrace?: {
    libdir: string;
    leftOut: string[];
    /** The lean libdir of memtrace's own programs and the D library files it leaves out; absent when dtrace did not run with it. */
    lean?: { libdir: string; leftOut: string[] };
  };
}

/** Where the loader and the libraries sit in a Debian root, by Node's name for the architecture. */
const LAYOUTS: Record<string, { loader: string; libraries: string[]; dtraceLibdir: string }> = {
  x64: {
    loader: 'lib64/ld-linux-x86-64.so.2',
    libraries: ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'],
    dtraceLibdir: 'usr/lib/x86_64-linux-gnu/dtrace',
  },
  arm64: {
    loader: 'lib/ld-linux-aarch64.so.1',
    libraries: ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu'],
    dtraceLibdir: 'usr/lib/aarch64-linux-gnu/dtrace',
  },
};

function layoutOf(arch: string) {
  const layout = LAYOUTS[arch];
  if (layout === undefined) throw new UsageError(`setup-bpftrace knows the Debian layout of x64 and arm64 machines, not of ${arch}`);
  return layout;
}

/** The dtrace package's own D library directory in the root at `dir`. */
export function rootDtraceLibdir(dir: string, arch: string = process.arch): string {
  return join(dir, layoutOf(arch).dtraceLibdir);
}

/**
 * The private root discovery looks in: $MEMTRACE_BPFTRACE_ROOT when set (an empty value turns the
 * private root off, as the tests of other bpftraces do), else the default directory.
 */
export function privateRootDirectory(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.MEMTRACE_BPFTRACE_ROOT;
  if (chosen === undefined) return DEFAULT_PRIVATE_ROOT;
  return chosen === '' ? null : chosen;
}

/**
 * The wrapper of the private root when one was set up there, else null. It is run as root, so it is
 * used only if it, its directory and the marker are owned by root (or by whoever runs memtrace) and
 * writable by no one else; a wrapper that fails that is an error, not silently skipped or run.
 */
export function findPrivateBpftrace(env: NodeJS.ProcessEnv = process.env): string | null {
  return findPrivateWrapper(WRAPPER_NAME, env);
}

/** The private root's dtrace wrapper (setup-bpftrace --include-dtrace), by the same rule as its bpftrace. */
export function findPrivateDtrace(env: NodeJS.ProcessEnv = process.env): string | null {
  return findPrivateWrapper(DTRACE_WRAPPER_NAME, env);
}

function findPrivateWrapper(name: string, env: NodeJS.ProcessEnv): string | null {
  const dir = privateRootDirectory(env);
  if (dir === null) return null;
  const wrapper = join(dir, name);
  const wrapperStats = lstatOrNull(wrapper);
  if (wrapperStats === null) return null;
  const problem =
    untrusted(dir, lstatOrNull(dir)) ??
    untrusted(wrapper, wrapperStats, 'file') ??
    untrusted(join(dir, MARKER_NAME), lstatOrNull(join(dir, MARKER_NAME)), 'file');
  if (problem !== null) {
    const setup = name === DTRACE_WRAPPER_NAME ? 'memtrace setup-bpftrace --include-dtrace' : 'memtrace-bpf setup-bpftrace';
    throw new TracerError(
      `memtrace does not run the ${name} of ${dir}: ${problem}; run "sudo ${setup} --rebuild${dir === DEFAULT_PRIVATE_ROOT ? '' : ` --dir ${dir}`}" or remove ${dir}`,
    );
  }
  return wrapper;
}

/** Why `path` cannot be trusted, or null. */
function untrusted(path: string, stats: Stats | null, kind: 'directory' | 'file' = 'directory'): string | null {
  if (stats === null) return `${path} is missing`;
  if (kind === 'directory' ? !stats.isDirectory() : !stats.isFile())
    return `${path} is not a ${kind}${stats.isSymbolicLink() ? ' (a symbolic link)' : ''}`;
  const me = process.getuid?.() ?? 0;
  if (stats.uid !== 0 && stats.uid !== me) return `${path} belongs to user ${stats.uid}`;
  if ((stats.mode & 0o022) !== 0) return `${path} is writable by other users`;
  return null;
}

/** lstat that answers null for a path that is not there (or not reachable). */
export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** The marker of DIR, or null when DIR has none (or an unreadable one: then it is not memtrace's). */
export function readMarker(dir: string): RootMarker | null {
  try {
    if (!lstatSync(join(dir, MARKER_NAME)).isFile()) return null;
    const marker = JSON.parse(readFileSync(join(dir, MARKER_NAME), 'utf8')) as Partial<RootMarker>;
    return marker.madeBy === 'memtrace setup-bpftrace' ? (marker as RootMarker) : null;
  } catch {
    return null;
  }
}

/**
 * A directory the wrapper can name: absolute, and free of the characters the loader's
 * --library-path splits on (`:` and `;`) and of line breaks.
 */
export function validateRootDirectory(dir: string): string {
  if (!dir.startsWith('/')) throw new UsageError(`--dir: expected an absolute path, got "${dir}"`);
  if (/[:;\n\r\0]/.test(dir))
    throw new UsageError(
      `--dir: "${dir.replace(/[\n\r\0]/g, '?')}" has a character the loader's library path cannot carry (: ; or a line break)`,
    );
  return dir;
}

/** The wrapper script of a root at `dir` (absolute, validated): every path single-quoted for sh. */
export function renderWrapper(dir: string, arch: string = process.arch): string {
  return renderLoaderScript(dir, arch, 'bpftrace', 'usr/bin/bpftrace', []);
}

/**
 * The dtrace wrapper of a root at `dir`: the root's dtrace through the root's loader, told to read its
 * D libraries from `libdir` (dtrace-libdir.ts). Without -x libdir it looks on this machine's own
 * /usr/lib, which has none (or another version's). Given `leanLibdir`, memtrace's own runs (with
 * DTRACE_LEAN_ENV) read that one instead.
 */
export function renderDtraceWrapper(dir: string, libdir: string, arch: string = process.arch, leanLibdir: string | null = null): string {
  const choice = [
    `libdir=${shellQuote(libdir)}`,
    ...(leanLibdir === null
      ? []
      : [
          "# memtrace's own programs use no D library: without them, dtrace neither builds the kernel's CTF from",
          '# BTF at start nor frees it at exit (2-7 s a run).',
          `if [ "\${${DTRACE_LIBS_VARIABLE}-}" = ${DTRACE_LEAN_ENV[DTRACE_LIBS_VARIABLE]} ]; then libdir=${shellQuote(leanLibdir)}; fi`,
        ]),
  ];
  return renderLoaderScript(dir, arch, 'dtrace (DTrace for Linux)', ROOT_DTRACE, ["'-x'", '"libdir=$libdir"'], choice);
}

/** The script that runs `binary` of the root through its loader; `words` are shell words, quoted already, `preamble` lines before. */
function renderLoaderScript(dir: string, arch: string, what: string, binary: string, words: string[], preamble: string[] = []): string {
  const layout = layoutOf(arch);
  const inRoot = (relative: string) => `${dir.replace(/\/+$/, '')}/${relative}`;
  return [
    '#!/bin/sh',
    `# ${what} from memtrace's private Debian root (memtrace setup-bpftrace), run with that root's own`,
    "# loader and libraries, not chrooted: its probes name this machine's files.",
    ...preamble,
    `exec ${shellQuote(inRoot(layout.loader))} --library-path ${[layout.libraries.map(inRoot).join(':'), inRoot(binary)].map(shellQuote).join(' ')}${words.map((word) => ` ${word}`).join('')} "$@"`,
    '',
  ].join('\n');
}

/** 'text' for sh: a single quote inside becomes '\'' (close, escaped quote, reopen). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}
