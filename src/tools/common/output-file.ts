// The one way memtrace creates a file the user asked for (-o reports, --raw-out and --events-out
// logs, process logs, gnuplot pairs). memtrace runs as root, often under sudo, and writes into
// directories other users may share (/tmp), so every output:
//  - never follows a symlink planted at its path (O_NOFOLLOW, refused with a UsageError);
//  - never overwrites a file that belongs to someone else than the user memtrace acts for
//    (root itself, or the invoking user under sudo): a hard link or a left-over file of another
//    user is refused, not truncated. The owner is checked on the open descriptor (fstat), and the
//    file is truncated only after that check, so no rename race can make root truncate it;
//  - belongs to the invoking user (SUDO_UID/SUDO_GID, validated) when memtrace runs as root under
//    sudo: it is chowned on its descriptor right after creation, before anything is written;
//  - fails with an OutputError naming the path and the cause in words ("disk full").
// Whole reports are written to a fresh sibling (random name, O_EXCL) and renamed over the path when
// complete, so a report on disk is either whole or absent: a full disk never leaves half a JSON.
// Streams (raw logs, written as tracing goes) are opened in place: what was written stays a valid
// prefix, line by line, which `memtrace report` reads as a truncated (partial) log.
import {
  closeSync,
  constants,
  createWriteStream,
  fchownSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  type WriteStream,
} from 'node:fs';
import { access, lstat, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { OutputError, UsageError } from '../../errors.js';

/** A user and group id, as SUDO_UID/SUDO_GID give them. */
export interface Owner {
  uid: number;
  gid: number;
}

const ID = /^(0|[1-9][0-9]{0,9})$/;
// 2^32 - 1 is (uid_t)-1, "no change" to chown: never a user.
const MAX_ID = 2 ** 32 - 2;

/**
 * The user memtrace writes for: under sudo (effective uid 0 with SUDO_UID and SUDO_GID set) the
 * invoking user, whose ids must be plain decimal integers; otherwise null (files keep the owner
 * the kernel gives them). A malformed SUDO_UID is a usage error rather than a silent root-owned file.
 */
export function invokingOwner(env: NodeJS.ProcessEnv = process.env, euid: number = process.geteuid?.() ?? -1): Owner | null {
  if (euid !== 0) return null;
  const uid = env.SUDO_UID;
  const gid = env.SUDO_GID;
  if (uid === undefined && gid === undefined) return null;
  const parsed = [
    ['SUDO_UID', uid],
    ['SUDO_GID', gid],
  ].map(([name, value]) => {
    if (value === undefined || !ID.test(value) || Number(value) > MAX_ID) {
      throw new UsageError(
        `${name} is ${value === undefined ? 'not set' : JSON.stringify(value)}: expected a numeric id (with SUDO_UID and SUDO_GID both set, memtrace gives its files to that user)`,
      );
    }
    return Number(value);
  });
  return { uid: parsed[0]!, gid: parsed[1]! };
}

/** The users whose existing files memtrace may overwrite: itself, and the invoking user. */
function mayOverwrite(uid: number, owner: Owner | null): boolean {
  return uid === (process.geteuid?.() ?? uid) || (owner !== null && uid === owner.uid);
}

function refusedOwner(path: string, uid: number): UsageError {
  return new UsageError(
    `${path} belongs to user ${uid}: memtrace does not overwrite another user's file; remove it or choose another path`,
  );
}

function refusedSymlink(path: string): UsageError {
  return new UsageError(
    `${path} is a symbolic link: memtrace does not write through a link at its output path; remove it or choose another path`,
  );
}

/** The cause of a failed write, in words a user acts on. */
export function describeOutputCause(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
      return 'disk full (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOENT':
      return 'the directory does not exist (ENOENT)';
    case 'EISDIR':
      return 'it is a directory (EISDIR)';
    case 'EIO':
      return 'input/output error (EIO)';
    case 'EPIPE':
      return 'the reader closed the pipe (EPIPE)';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

function outputError(path: string, error: unknown, what = 'cannot write'): OutputError {
  return new OutputError(`${what} ${path}: ${describeOutputCause(error)}`, { path, cause: error });
}

/**
 * Checks, before any tracing, that `path` can be written as the open will: its directory exists
 * and is writable, and nothing refused (a symlink, a directory, another user's file) sits there.
 */
export async function checkOutputPath(path: string, owner: Owner | null = invokingOwner()): Promise<void> {
  const directory = dirname(resolve(path));
  try {
    await access(directory, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'ENOENT' ? 'does not exist' : 'is not writable';
    throw new UsageError(`cannot write ${path}: directory ${directory} ${why}`);
  }
  const stat = await lstat(path).catch(() => null);
  if (stat === null) return;
  if (stat.isSymbolicLink()) throw refusedSymlink(path);
  if (stat.isDirectory()) throw new UsageError(`cannot write ${path}: it is a directory`);
  if (!mayOverwrite(stat.uid, owner)) throw refusedOwner(path, stat.uid);
}

/**
 * Opens `path` for writing from its start (created 0644 if absent), refusing a symlink and another
 * user's file, chowned to the invoking user under sudo; returns the descriptor.
 */
export function openOutputFileSync(path: string, owner: Owner | null = invokingOwner()): number {
  let fd: number;
  try {
    // Read as well as write: a log cut short by a full disk is read back to find its last line.
    fd = openSync(path, constants.O_CREAT | constants.O_RDWR | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw refusedSymlink(path);
    throw outputError(path, error, 'cannot create');
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) {
      if (!mayOverwrite(stat.uid, owner)) throw refusedOwner(path, stat.uid);
      ftruncateSync(fd, 0);
    }
    if (owner !== null && stat.isFile()) fchownSync(fd, owner.uid, owner.gid);
    return fd;
  } catch (error) {
    closeSync(fd);
    if (error instanceof UsageError) throw error;
    throw outputError(path, error, 'cannot create');
  }
}

/** A file written as tracing goes: a failed write stops the writing, not the trace. */
export interface OutputStream {
  readonly path: string;
  write(text: string): void;
  /** Flushes and closes; the first write failure (disk full…) comes back as an OutputError, not thrown. */
  close(): Promise<OutputError | null>;
}

export function openOutputStream(path: string, owner: Owner | null = invokingOwner()): OutputStream {
  const fd = openOutputFileSync(path, owner);
  // The descriptor stays ours (autoClose off): after a failure the file is cut back to its last
  // whole line (a batch of writes may fail part way), so a log the disk cut short re-renders.
  const stream: WriteStream = createWriteStream(path, { fd, autoClose: false });
  let failure: OutputError | null = null;
  let written = 0;
  // The first failure is kept whichever way it arrives (a write's callback, end's, or 'error').
  const fail = (error: unknown): OutputError => {
    failure ??= new OutputError(
      `could not write ${path}: ${describeOutputCause(error)}; it keeps the whole lines written until then (${written} bytes confirmed), a truncated log that memtrace report reads`,
      { path, cause: error },
    );
    return failure;
  };
  // Once a write failed the file ends where the disk did; later writes would only fail again.
  stream.on('error', fail);
  const release = (): OutputError | null => {
    try {
      if (failure !== null) ftruncateSync(fd, lastLineEnd(fd));
    } catch {
      // the cut is a courtesy; the failure is reported either way
    }
    closeSync(fd);
    return failure;
  };
  let closed: Promise<OutputError | null> | null = null;
  return {
    path,
    write(text) {
      if (failure !== null || stream.destroyed) return;
      stream.write(text, (error) => {
        if (error) fail(error);
        else if (failure === null) written += Buffer.byteLength(text);
      });
    },
    close() {
      closed ??= new Promise<OutputError | null>((done) => {
        // Destroyed by a failed write: its 'error' comes before its 'close'.
        if (stream.destroyed) return stream.closed ? done(release()) : void stream.once('close', () => done(release()));
        stream.end((error?: Error | null) => {
          if (error) fail(error);
          done(release());
        });
      });
      return closed;
    },
  };
}

/** Where the file's last whole line ends: read backwards a page at a time (memory stays bounded). */
function lastLineEnd(fd: number): number {
  const page = Buffer.alloc(4096);
  for (let end = fstatSync(fd).size; end > 0;) {
    const start = Math.max(0, end - page.length);
    const count = readSync(fd, page, 0, end - start, start);
    const newline = page.subarray(0, count).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    end = start;
  }
  return 0;
}

/**
 * Writes a whole file: into a fresh sibling (random name, O_EXCL, chowned under sudo), renamed
 * over `path` once complete, so the file is whole or absent. A symlink or another user's file at
 * `path` is refused first; the rename itself replaces a directory entry and never follows a link.
 * Data given as chunks (a large folded report) is written as they come, never joined in memory.
 */
export async function writeOutputFile(
  path: string,
  data: string | Uint8Array | Iterable<string>,
  owner: Owner | null = invokingOwner(),
): Promise<void> {
  const existing = await lstat(path).catch(() => null);
  if (existing !== null) {
    if (existing.isSymbolicLink()) throw refusedSymlink(path);
    if (existing.isDirectory()) throw new UsageError(`cannot write ${path}: it is a directory`);
    if (!mayOverwrite(existing.uid, owner)) throw refusedOwner(path, existing.uid);
  }
  const temporary = join(dirname(path), `.${basename(path)}.memtrace-${randomBytes(6).toString('hex')}`);
  let handle;
  try {
    handle = await open(temporary, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw outputError(path, error, 'cannot create a file beside');
  }
  try {
    if (owner !== null) await handle.chown(owner.uid, owner.gid);
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else {
      for (const chunk of data) {
        const bytes = Buffer.from(chunk);
        for (let done = 0; done < bytes.length;) done += (await handle.write(bytes, done)).bytesWritten;
      }
    }
    await handle.close();
    handle = null;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    const left = existing === null ? 'no file was left there' : 'its previous content is unchanged';
    throw new OutputError(`cannot write ${path}: ${describeOutputCause(error)}; ${left}`, { path, cause: error });
  }
}
