// `memtrace setup-bpftrace`: builds (once) the private Debian-testing root of private-bpftrace.ts with
// debootstrap, writes its wrapper and checks that the bpftrace runs. Debian 12 ships bpftrace 0.17
// and Debian 13 0.23; DWARF stack unwinding (dw_ustack) needs 0.26 or later, which only testing has.
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { TracerError, UsageError } from '../errors.js';
import { prepareDtraceLibdir, prepareLeanLibdir, TRIAL_PROGRAM } from './dtrace-libdir.js';
import { ensureDebugfs } from './dtrace-linux.js';
import {
  DTRACE_LEAN_ENV,
  DTRACE_LEAN_LIBDIR_NAME,
  DTRACE_LIBDIR_NAME,
  DTRACE_LIBS_VARIABLE,
  DTRACE_WRAPPER_NAME,
  lstatOrNull,
  MARKER_NAME,
  readMarker,
  renderDtraceWrapper,
  renderWrapper,
  ROOT_DTRACE,
  rootDtraceLibdir,
  validateRootDirectory,
  WRAPPER_NAME,
  type RootMarker,
} from './private-bpftrace.js';

export const DEFAULT_SUITE = 'forky';
const DEBOOTSTRAP_SCRIPTS = '/usr/share/debootstrap/scripts';
const LOG_NAME = '.memtrace-debootstrap.log';

export interface SetupOptions {
  dir: string;
  suite: string;
  includeDtrace: boolean;
  rebuild: boolean;
  mirror: string;
  /** One-off messages ("installing debootstrap"). */
  notify: (message: string) => void;
  /** Called on every line debootstrap prints, with the counts so far. */
  progress: (progress: DebootstrapProgress) => void;
}

export interface DebootstrapProgress {
  retrieved: number;
  unpacked: number;
  configured: number;
  /** debootstrap's latest `I:` line, without the `I: `. */
  latest: string;
  /** "Configuring libc-bin" and the like seen so far: debootstrap configures some packages twice. */
  seen: Set<string>;
}

export interface SetupResult {
  dir: string;
  wrapper: string;
  /** An existing complete root was used as it was. */
  reused: boolean;
  version: string;
  /** `bpftrace --info` says `dwunwind … yes`: dw_ustack() unwinds stacks without frame pointers. */
  dwarfStacks: boolean;
  diskBytes: number;
  /** DTrace for Linux, when the root has the dtrace package. */
  dtrace: PrivateDtrace | null;
}

export interface PrivateDtrace {
  wrapper: string;
  /** As `dtrace -V` says it: `D 2.0.7`. */
  version: string;
  /** The D library directory the wrapper names, and the root's files it leaves out (relative to the root's libdir). */
  libdir: string;
  leftOut: string[];
  /** The lean libdir memtrace's own programs run with (no D library file), and the files it leaves out; null when dtrace did not run with it. */
  lean: { libdir: string; leftOut: string[] } | null;
}

export async function setupPrivateBpftrace(options: SetupOptions): Promise<SetupResult> {
  if (process.getuid?.() !== 0) {
    throw new TracerError(
      `memtrace setup-bpftrace installs a Debian root in ${options.dir} with debootstrap, which needs root: re-run with sudo`,
      { exitCode: 77 },
    );
  }
  const dir = validateRootDirectory(options.dir.replace(/\/+$/, '') || '/');
  // debootstrap splits its target on white space somewhere inside (its chroot step fails on "/tmp/a b").
  if (/\s/.test(dir)) throw new UsageError(`--dir "${dir}": debootstrap cannot build into a path with white space`);
  const packages = options.includeDtrace ? ['bpftrace', 'dtrace'] : ['bpftrace'];
  const wanted: RootMarker = { madeBy: 'memtrace setup-bpftrace', suite: options.suite, packages, mirror: options.mirror, complete: false };
  const reused = await claimDirectory(dir, wanted, options);
  if (!reused) {
    await ensureDebootstrap(options.notify);
    await runDebootstrap(dir, wanted, options);
    await writeFileInRoot(dir, MARKER_NAME, `${JSON.stringify({ ...wanted, complete: true }, null, 2)}\n`, 0o644);
  }
  // Written on every run, so a reused root gets the wrapper this memtrace writes.
  const wrapper = await writeFileInRoot(dir, WRAPPER_NAME, renderWrapper(dir), 0o755);
  const { version, dwarfStacks } = await checkWrapper(wrapper);
  const dtrace = existsSync(join(dir, ROOT_DTRACE)) ? await setupDtrace(dir, options.notify) : null;
  return { dir, wrapper, reused, version, dwarfStacks, diskBytes: await diskUsage(dir), dtrace };
}

/**
 * DIR/dtrace: the root's dtrace through its loader, with a libdir this kernel can load (dtrace-libdir.ts),
 * checked by running a program; what was left out goes in the marker. Redone on every run, like the
 * bpftrace wrapper: a root reused on another kernel may need another libdir.
 */
async function setupDtrace(dir: string, notify: (message: string) => void): Promise<PrivateDtrace> {
  await ensureDebugfs(notify);
  const libdir = join(dir, DTRACE_LIBDIR_NAME);
  const leanLibdir = join(dir, DTRACE_LEAN_LIBDIR_NAME);
  const writeWrapper = (lean: string | null) =>
    writeFileInRoot(dir, DTRACE_WRAPPER_NAME, renderDtraceWrapper(dir, libdir, process.arch, lean), 0o755);
  const wrapper = await writeWrapper(leanLibdir);
  const versionRun = await execa(wrapper, ['-V'], { reject: false, all: true, timeout: 60_000 });
  const version = /\bD \d+(?:\.\d+)+/.exec(`${versionRun.all}`)?.[0];
  if (versionRun.exitCode !== 0 || version === undefined) {
    throw new TracerError(
      `the private dtrace does not run: ${wrapper} -V exited ${versionRun.exitCode ?? versionRun.signal}:\n${tail(`${versionRun.all}`, 10)}`,
    );
  }
  const trial = (env: Record<string, string | undefined>) => async () => {
    const run = await execa(wrapper, ['-q', '-n', TRIAL_PROGRAM], { reject: false, all: true, timeout: 60_000, env });
    return { ok: run.exitCode === 0, output: `${run.all}` };
  };
  const leftOut = await prepareDtraceLibdir({
    rootLibdir: rootDtraceLibdir(dir),
    libdir,
    trial: trial({ [DTRACE_LIBS_VARIABLE]: undefined }),
  });
  const leanLeftOut = await prepareLeanLibdir({ libdir, leanLibdir, trial: trial({ ...DTRACE_LEAN_ENV }) });
  if (leanLeftOut === null) {
    notify(`memtrace: the private dtrace does not run without its D library files: memtrace's programs use all of ${libdir}`);
    await writeWrapper(null);
  }
  const lean = leanLeftOut === null ? null : { libdir: leanLibdir, leftOut: leanLeftOut };
  const marker = readMarker(dir);
  if (marker !== null)
    await writeFileInRoot(
      dir,
      MARKER_NAME,
      `${JSON.stringify({ ...marker, dtrace: { libdir, leftOut, ...(lean === null ? {} : { lean }) } }, null, 2)}\n`,
      0o644,
    );
  return { wrapper, version, libdir, leftOut, lean };
}

/**
 * Makes DIR memtrace's, or finds it already is. Returns true when a complete root of the wanted suite
 * and packages is there to reuse. Refuses a DIR that exists and is not a directory memtrace made
 * (a symbolic link, a file, a non-empty directory without the marker, one others may write to):
 * memtrace writes a script there that root runs, and --rebuild deletes the directory.
 */
async function claimDirectory(dir: string, wanted: RootMarker, options: SetupOptions): Promise<boolean> {
  const stats = lstatOrNull(dir);
  if (stats !== null) {
    if (stats.isSymbolicLink()) throw new UsageError(`--dir ${dir} is a symbolic link: give the directory itself`);
    if (!stats.isDirectory()) throw new UsageError(`--dir ${dir} exists and is not a directory`);
    if (stats.uid !== 0 || (stats.mode & 0o022) !== 0)
      throw new UsageError(
        `--dir ${dir} belongs to user ${stats.uid} or is writable by other users: memtrace puts a program root runs there`,
      );
    const marker = readMarker(dir);
    if (marker === null) {
      if ((await readdir(dir)).length > 0)
        throw new UsageError(
          `--dir ${dir} exists and was not made by memtrace setup-bpftrace (no ${MARKER_NAME} in it): remove it or choose another directory`,
        );
    } else {
      const complete = marker.complete && existsSync(join(dir, 'usr/bin/bpftrace'));
      const same = marker.suite === wanted.suite && wanted.packages.every((name) => marker.packages.includes(name));
      if (complete && same && !options.rebuild) return true;
      if (complete && !same && !options.rebuild) {
        throw new UsageError(
          `${dir} holds ${marker.packages.join(', ')} from Debian ${marker.suite}, not ${wanted.packages.join(', ')} from ${wanted.suite}: add --rebuild to build it again`,
        );
      }
      if (!complete) options.notify(`memtrace: ${dir} holds an unfinished set-up: starting over`);
      await removeRoot(dir);
    }
  }
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  if (lstatOrNull(dir) === null) await mkdir(dir, { mode: 0o755 });
  await writeFileInRoot(dir, MARKER_NAME, `${JSON.stringify(wanted, null, 2)}\n`, 0o644);
  return false;
}

/** rm -rf of a root memtrace made; never across a mount point (something bound into it by hand). */
async function removeRoot(dir: string): Promise<void> {
  const mountInfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const mounted = mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .find((point) => point !== undefined && (point === dir || point.startsWith(`${dir}/`)));
  if (mounted !== undefined) throw new UsageError(`${mounted} is a mount point inside ${dir}: unmount it before memtrace deletes the root`);
  await rm(dir, { recursive: true, force: true });
}

/**
 * Writes DIR/NAME whole, never through a symbolic link planted there: the text goes to a new file
 * (O_EXCL refuses any existing name, a link included) that is then renamed over NAME.
 */
async function writeFileInRoot(dir: string, name: string, text: string, mode: number): Promise<string> {
  const target = join(dir, name);
  const temporary = join(dir, `.${name}.${process.pid}.tmp`);
  await unlink(temporary).catch(() => {});
  await writeFile(temporary, text, { flag: 'wx', mode });
  await chmod(temporary, mode);
  await rename(temporary, target);
  return target;
}

async function ensureDebootstrap(notify: (message: string) => void): Promise<void> {
  if ((await execa('debootstrap', ['--version'], { reject: false })).exitCode === 0) return;
  if ((await execa('apt-get', ['--version'], { reject: false })).exitCode !== 0) {
    throw new TracerError('setup-bpftrace needs debootstrap, and this machine has neither it nor apt-get: install debootstrap');
  }
  notify('memtrace: debootstrap is not installed: installing it with apt-get install debootstrap');
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  let install = await execa('apt-get', ['install', '-y', '-qq', 'debootstrap'], { reject: false, env, all: true });
  if (install.exitCode !== 0) {
    // A fresh machine may have no package lists yet.
    await execa('apt-get', ['update', '-qq'], { reject: false, env });
    install = await execa('apt-get', ['install', '-y', '-qq', 'debootstrap'], { reject: false, env, all: true });
  }
  if (install.exitCode !== 0)
    throw new TracerError(`apt-get install debootstrap failed (exit ${install.exitCode}):\n${tail(`${install.all}`, 10)}`);
}

/** The debootstrap command line: Debian 12's debootstrap has no `forky` script, and its `sid` script serves every later suite. */
export function debootstrapArguments(dir: string, marker: RootMarker, scripts = DEBOOTSTRAP_SCRIPTS): string[] {
  const script = existsSync(join(scripts, marker.suite)) ? [] : [join(scripts, 'sid')];
  return ['--variant=minbase', `--include=${marker.packages.join(',')}`, marker.suite, dir, marker.mirror, ...script];
}

async function runDebootstrap(dir: string, marker: RootMarker, options: SetupOptions): Promise<void> {
  const logPath = join(dir, LOG_NAME);
  const log = createWriteStream(logPath, { flags: 'wx', mode: 0o644 });
  const progress: DebootstrapProgress = { retrieved: 0, unpacked: 0, configured: 0, latest: 'starting', seen: new Set() };
  const child = execa('debootstrap', debootstrapArguments(dir, marker), {
    reject: false,
    all: true,
    buffer: false,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  for await (const line of child.iterable({ from: 'all' })) {
    log.write(`${line}\n`);
    countProgress(progress, line);
    options.progress(progress);
  }
  const result = await child;
  await new Promise<void>((resolve) => log.end(resolve));
  if (result.exitCode === 0) return;
  const logText = await readFile(logPath, 'utf8').catch(() => '');
  // debootstrap keeps its own detailed log in the target while it fails.
  const ownLog = existsSync(join(dir, 'debootstrap/debootstrap.log')) ? ` and ${join(dir, 'debootstrap/debootstrap.log')}` : '';
  const offline =
    /Failed getting release file|Temporary failure in name resolution|unable to resolve host|Could not resolve|Connection refused|Network is unreachable|No route to host|Connection timed out|Couldn't download/i.test(
      logText,
    );
  throw new TracerError(
    [
      offline
        ? `debootstrap could not download Debian ${marker.suite} from ${marker.mirror}: is this machine offline, or is the mirror wrong? (--mirror URL chooses another)`
        : `debootstrap of Debian ${marker.suite} into ${dir} failed (exit ${result.exitCode ?? result.signal})`,
      tail(logText, 15),
      `the whole log: ${logPath}${ownLog}; the next run of setup-bpftrace starts over`,
    ].join('\n'),
  );
}

/** Counts the packages of debootstrap's `I: Retrieving|Unpacking|Configuring NAME` lines. */
export function countProgress(progress: DebootstrapProgress, line: string): void {
  const match = /^I: (.*)$/.exec(line.trim());
  if (!match) return;
  const text = match[1]!;
  progress.latest = text;
  // "I: Retrieving libc6 2.41-12" is a package; "I: Retrieving Packages" and "I: Retrieving InRelease" are
  // indexes; "I: Unpacking required packages..." (two words) is a phase.
  const step = /^(Retrieving \S+) \S|^(Unpacking \S+)\.\.\.$|^(Configuring \S+)\.\.\.$/.exec(text);
  const key = step?.[1] ?? step?.[2] ?? step?.[3];
  if (key === undefined || progress.seen.has(key)) return;
  progress.seen.add(key);
  if (key.startsWith('Retrieving')) progress.retrieved += 1;
  else if (key.startsWith('Unpacking')) progress.unpacked += 1;
  else progress.configured += 1;
}

async function checkWrapper(wrapper: string): Promise<{ version: string; dwarfStacks: boolean }> {
  const versionRun = await execa(wrapper, ['--version'], { reject: false, all: true, timeout: 60_000 });
  const version = /bpftrace v?(\d+\.\d+(?:\.\d+)?)/.exec(`${versionRun.stdout}`)?.[1];
  if (versionRun.exitCode !== 0 || version === undefined) {
    throw new TracerError(
      `the private bpftrace does not run: ${wrapper} --version exited ${versionRun.exitCode ?? versionRun.signal}:\n${tail(`${versionRun.all}`, 10)}`,
    );
  }
  const info = await execa(wrapper, ['--info'], { reject: false, all: true, timeout: 60_000 });
  if (info.exitCode !== 0) throw new TracerError(`${wrapper} --info exited ${info.exitCode ?? info.signal}:\n${tail(`${info.all}`, 10)}`);
  return { version, dwarfStacks: /dwunwind[^\n:]*:\s*yes/i.test(`${info.all}`) };
}

async function diskUsage(dir: string): Promise<number> {
  // -x: a mount inside the root is not the root's cost.
  const du = await execa('du', ['-sxb', dir], { reject: false });
  return Number(/^(\d+)/.exec(`${du.stdout}`)?.[1] ?? NaN);
}

function tail(text: string, lines: number): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => `  ${line}`)
    .join('\n');
}
