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
//
// memtrace's own programs get a second, lean libdir: that one without any D library file, only
// dtrace's BPF library and headers. Most D library files translate kernel structures, and with any
// of those (net.d too, which says no `depends_on module vmlinux` but names kernel types) DTrace for
// Linux builds the kernel's CTF from BTF at start (~1 s here, 125,851 types) and frees it again at
// exit, which libctf takes 1.5-6 s of CPU to do here (perf: ctf_dict_close under dtrace_close, 80%
// of the run): 1.7-7 s on every run. The others (errno.d, regs.d, signal.d, unistd.d) only define
// constants. memtrace's programs use no definition of any of them (pid and USDT probes, ustack,
// aggregations), so the lean libdir has none, and no file of a newer dtrace to judge; with it the
// same program compiles in 0.22-0.32 s.
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

/**
 * Makes `leanLibdir`: the links of `libdir` (already prepared) without any D library file, that is
 * dtrace's BPF library and headers alone. Runs the trial with it; returns the files left out, or null
 * when dtrace does not run with it (the lean libdir is then removed, and memtrace's programs keep the
 * whole one).
 */
export async function prepareLeanLibdir(options: {
  libdir: string;
  leanLibdir: string;
  trial: () => Promise<TrialResult>;
}): Promise<string[] | null> {
  const { libdir, leanLibdir } = options;
  await rm(leanLibdir, { recursive: true, force: true });
  const leftOut: string[] = [];
  await linkTree(libdir, leanLibdir, (path) => {
    if (!path.endsWith('.d')) return true;
    leftOut.push(path);
    return false;
  });
  if ((await options.trial()).ok) return leftOut.sort();
  await rm(leanLibdir, { recursive: true, force: true });
  return null;
}

async function lstatOrNull(path: string) {
  return lstat(path).catch(() => null);
}

/**
 * `to` made as a tree of directories whose files are symbolic links to those of `from`, each file
 * whose path (relative to `from`) `keep` accepts.
 */
async function linkTree(from: string, to: string, keep: (path: string) => boolean = () => true, under = ''): Promise<void> {
  await mkdir(join(to, under), { mode: 0o755 });
  for (const entry of await readdir(join(from, under), { withFileTypes: true })) {
    const path = join(under, entry.name);
    const source = join(from, path);
    if (entry.isDirectory()) await linkTree(from, to, keep, path);
    else if (((await lstat(source)).isFile() || entry.isSymbolicLink()) && keep(path)) await symlink(source, join(to, path));
  }
}
