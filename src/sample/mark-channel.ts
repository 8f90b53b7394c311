// How labels and heap figures reach a running `memtrace process` from elsewhere: a Unix socket
// speaking one JSON object per line.
//
//   {"mark": "loaded 1M rows"}         ← `memtrace mark PID TEXT`; answered {"ok": true, "elapsed": 1.25}
//   {"heap": {"pid": 4242, "heapUsed": …, "heapTotal": …, "external": …, "arrayBuffers": …, "via": "timer"}}
//   {"heap": {"pid": 4242, "heapUsed": …, "heapTotal": …, "via": "inspector"}}
//                                      ← the preload inside a launched Node target, every interval,
//                                        from its main thread's timer and from its worker thread
//   {"preload": {"pid": 4242, "via": "inspector"}}, {"preload": {"pid": 4242, "via": "timer", "why": …}}
//                                      ← once: how it reports (why its worker does not run)
//
// Each sampler listens at DIR/process-PID.sock, PID being the sampled process, so `memtrace mark`
// finds it from the PID the user knows. DIR is $XDG_RUNTIME_DIR/memtrace when that directory is the
// user's own and private (systemd makes it so, and no other user can plant anything in it), else
// /tmp/memtrace-UID. The latter is a predictable name in a shared directory: another user may
// create it first, as a directory or a symlink. That is why it is created without following links
// and then checked (lstat: a real directory, owned by this user, mode 0700): a planted one is
// refused, never used or followed. The cost is a denial of service (memtrace process refuses to
// start), never a socket in someone else's hands: whoever can write to it can write to the log.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { TargetError, UsageError } from '../errors.js';
import { oneLine } from '../model/series.js';
import type { HeapVia } from './heap-reports.js';
import type { HeapValues } from './sampler.js';

/** The longest label accepted: a label is a caption, and a line is read whole into memory. */
export const MAX_MARK_LENGTH = 500;
const MAX_LINE = 64 * 1024;

export interface ChannelHandlers {
  mark(text: string): { elapsed: number } | null;
  heap(pid: number, values: HeapValues, via: HeapVia): void;
  preload(pid: number, via: HeapVia, why: string | undefined): void;
}

/** The directories a mark socket may live in, the preferred first (none created here). */
export function socketDirectoryCandidates(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string[] {
  const candidates: string[] = [];
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime !== undefined && isAbsolute(runtime) && isPrivateDirectory(runtime, uid)) candidates.push(join(runtime, 'memtrace'));
  candidates.push(join(tmpdir(), `memtrace-${uid}`));
  return candidates;
}

/** The preferred socket directory, created 0700 if absent; a planted or shared one is refused. */
export function socketDirectory(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  const directory = socketDirectoryCandidates(env, uid)[0]!;
  try {
    // Not recursive: mkdir never follows a symlink at its last component, and the parent exists.
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new TargetError(`cannot create ${directory} for the mark socket: ${(error as Error).message}`, { cause: error });
  }
  if (!isPrivateDirectory(directory, uid)) {
    throw new TargetError(
      `${directory} is not a private directory of user ${uid} (a real directory, owned by it, mode 0700): refusing to put the mark socket there; remove it if you did not create it`,
    );
  }
  return directory;
}

function isPrivateDirectory(path: string, uid: number): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

export function markSocketPath(pid: number): string {
  return join(socketDirectory(), `process-${pid}.sock`);
}

/** Where `memtrace mark` looks: the first private candidate directory holding the sampler's socket. */
function findMarkSocket(pid: number): string {
  const uid = process.getuid?.() ?? 0;
  for (const directory of socketDirectoryCandidates()) {
    const path = join(directory, `process-${pid}.sock`);
    if (!isPrivateDirectory(directory, uid)) continue;
    try {
      if (lstatSync(path).isSocket()) return path;
    } catch {
      // not in this one
    }
  }
  return markSocketPath(pid);
}

/** Checks a label's text; the same rule for the API, `memtrace mark` and the socket. */
export function validateMarkText(text: string): string {
  if (text.length === 0) throw new UsageError('a mark needs a text');
  if (text.length > MAX_MARK_LENGTH) throw new UsageError(`a mark is at most ${MAX_MARK_LENGTH} characters, got ${text.length}`);
  return oneLine(text);
}

/** Serves the protocol on `path`; a stale socket left by a killed sampler is replaced. */
export async function listenChannel(path: string, handlers: ChannelHandlers): Promise<Server> {
  if (await answers(path)) throw new TargetError(`another memtrace is already sampling through ${path}`);
  try {
    unlinkSync(path);
  } catch {
    // none was there
  }
  const server = createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serve(socket, handlers);
  });
  const connections = new Set<Socket>();
  openConnections.set(server, connections);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  return server;
}

const openConnections = new WeakMap<Server, Set<Socket>>();

/** Stops listening and drops every open connection (a sampler's preload keeps one open for good). */
export async function closeChannel(server: Server, path: string): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of openConnections.get(server) ?? []) socket.destroy();
  await closed;
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function serve(socket: Socket, handlers: ChannelHandlers): void {
  socket.unref();
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    pending += chunk;
    if (pending.length > MAX_LINE && !pending.includes('\n')) {
      reply(socket, { ok: false, error: 'line too long' });
      socket.destroy();
      return;
    }
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      handleLine(socket, line, handlers);
    }
  });
}

function handleLine(socket: Socket, line: string, handlers: ChannelHandlers): void {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    reply(socket, { ok: false, error: 'not JSON' });
    return;
  }
  if (typeof message !== 'object' || message === null) return reply(socket, { ok: false, error: 'expected an object' });
  const { mark, heap, preload } = message as { mark?: unknown; heap?: unknown; preload?: unknown };
  if (typeof mark === 'string') {
    try {
      const done = handlers.mark(validateMarkText(mark));
      reply(socket, done === null ? { ok: false, error: 'sampling has stopped' } : { ok: true, elapsed: done.elapsed });
    } catch (error) {
      reply(socket, { ok: false, error: error instanceof Error ? error.message : String(error) });
    }
    return;
  }
  if (typeof heap === 'object' && heap !== null) {
    // From the preload, which answers nothing: a malformed report is dropped, and the sample it was
    // for is counted as one without heap figures.
    const values = heap as Record<string, unknown>;
    const isBytes = (value: unknown): value is number => typeof value === 'number' && value >= 0;
    if (Number.isInteger(values.pid) && isBytes(values.heapUsed) && isBytes(values.heapTotal)) {
      const figures: HeapValues = { heapUsed: values.heapUsed, heapTotal: values.heapTotal };
      if (isBytes(values.external)) figures.external = values.external;
      if (isBytes(values.arrayBuffers)) figures.arrayBuffers = values.arrayBuffers;
      handlers.heap(values.pid as number, figures, values.via === 'inspector' ? 'inspector' : 'timer');
    }
    return;
  }
  if (typeof preload === 'object' && preload !== null) {
    const { pid, via, why } = preload as Record<string, unknown>;
    if (Number.isInteger(pid) && (via === 'inspector' || via === 'timer'))
      handlers.preload(pid as number, via, typeof why === 'string' ? oneLine(why).slice(0, MAX_MARK_LENGTH) : undefined);
    return;
  }
  reply(socket, { ok: false, error: 'expected {"mark": TEXT}' });
}

function reply(socket: Socket, value: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
}

/** Whether something answers on `path` (a live sampler), as opposed to a stale file or nothing. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `memtrace mark PID TEXT`: sends the label and waits for the sampler's answer. */
export function sendMark(pid: number, text: string, timeoutMs = 5000): Promise<{ elapsed: number }> {
  const path = findMarkSocket(pid);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TargetError(`no answer from the memtrace process sampling PID ${pid} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    let answer = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ mark: text })}\n`));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (!answer.includes('\n')) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        const parsed = JSON.parse(answer.slice(0, answer.indexOf('\n'))) as { ok: boolean; elapsed?: number; error?: string };
        if (parsed.ok) resolve({ elapsed: parsed.elapsed ?? 0 });
        else reject(new TargetError(`the memtrace process sampling PID ${pid} refused the mark: ${parsed.error}`));
      } catch {
        reject(new TargetError(`garbled answer from ${path}: ${JSON.stringify(answer)}`));
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? new TargetError(`no memtrace process is sampling PID ${pid} (no socket answers at ${path})`)
          : new TargetError(`cannot reach ${path}: ${error.message}`),
      );
    });
  });
}
