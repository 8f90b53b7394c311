// The D library directory memtrace gives the dtrace of its private root (setup-bpftrace --include-dtrace).
//
// DTrace for Linux compiles every D library file of its libdir (the translators of io, sched, tcp, …,
// in one directory per kernel version) before any program, and a file that names a kernel symbol
// this kernel does not show fails every program. On a kernel without CONFIG_KALLSYMS_ALL, which hides
// data symbols, 6.10/io.d stops everything with
//   dtrace: invalid probe specifier BEGIN { exit(0); }: "…/dtrace/6.10/io.d", line 134: failed to resolve vmlinux`major_names: Unknown symbol name
// So the libdir memtrace prepares is a tree of symbolic links to the root's files, less the files that
// fail here, found by trial: run a program that does nothing, and while it fails that way, leave that
// file out and run it again. The root's own files are never touched (a Debian upgrade of the root
// would put them back, and they are the package's).
import { lstat, mkdir, readdir, rm, symlink, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TracerError } from '../errors.js';

/** More failing files than this is not one kernel's missing symbols but a dtrace that cannot work here. */
export const MAX_LEFT_OUT = 12;

/** A program that enables one probe of dtrace's own and exits: it needs every library file to compile. */
export const TRIAL_PROGRAM = 'BEGIN { exit(0); }';

export interface TrialResult {
  ok: boolean;
  /** What dtrace printed (both streams). */
  output: string;
}

export interface PrepareLibdirOptions {
  /** The dtrace package's own libdir in the root. */
  rootLibdir: string;
  /** The directory memtrace fills (removed and made again). */
  libdir: string;
  /** Runs dtrace -x libdir=`libdir` on TRIAL_PROGRAM. */
  trial: () => Promise<TrialResult>;
}

/**
 * The library file, relative to the libdir, that made dtrace fail with "failed to resolve", or null
 * when the output says something else. dtrace names the file by the path it opened: under `libdir`
 * (through the links) or under the root's libdir.
 */
export function failingLibraryFile(output: string, libdirs: string[]): string | null {
  const match = /"([^"\n]+\.d)", line \d+: failed to resolve /.exec(output);
  if (match === null) return null;
  for (const dir of libdirs) {
    const inside = relative(dir, match[1]!);
    if (inside !== '' && !inside.startsWith('..') && !inside.startsWith('/')) return inside;
  }
  return null;
}

/** Makes `libdir` and finds by trial what it must leave out; returns those files (relative paths). */
export async function prepareDtraceLibdir(options: PrepareLibdirOptions): Promise<string[]> {
  const { rootLibdir, libdir } = options;
  await rm(libdir, { recursive: true, force: true });
  await linkTree(rootLibdir, libdir);
  const leftOut: string[] = [];
  for (;;) {
    const result = await options.trial();
    if (result.ok) return leftOut;
    const named = failingLibraryFile(result.output, [libdir, rootLibdir]);
    const file = named !== null && (await lstatOrNull(join(libdir, named))) !== null ? named : null;
    const said = result.output
      .trim()
      .split('\n')
      .slice(-6)
      .map((line) => `  ${line}`)
      .join('\n');
    if (file === null || leftOut.includes(file)) {
      throw new TracerError(
        `the dtrace of the private root does not run "${TRIAL_PROGRAM}"${leftOut.length > 0 ? ` (even without ${leftOut.join(', ')})` : ''}:\n${said}`,
      );
    }
    if (leftOut.length >= MAX_LEFT_OUT) {
      throw new TracerError(
        `the dtrace of the private root fails on more than ${MAX_LEFT_OUT} of its D library files (${leftOut.join(', ')}, …): this kernel lacks too much of what they name:\n${said}`,
      );
    }
    leftOut.push(file);
    await unlink(join(libdir, file));
  }
}

async function lstatOrNull(path: string) {
  return lstat(path).catch(() => null);
}

/** `to` made as a tree of directories whose files are symbolic links to those of `from`. */
async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) await linkTree(source, join(to, entry.name));
    else if ((await lstat(source)).isFile() || entry.isSymbolicLink()) await symlink(source, join(to, entry.name));
  }
}
