// V8's heap figures of a Node process that memtrace did not launch (`memtrace process -p PID
// --attach-inspector`): memtrace opens the process's inspector the way `node inspect -p PID` does
// (SIGUSR1), asks process.memoryUsage() through it every interval, and closes it again at the end.
//
// Why this way: the figures live inside V8, and the inspector is the one door a running Node opens
// from outside without a restart. Its answers come through V8's interrupts, between two JavaScript
// instructions, so a busy program is sampled too. Runtime.evaluate of process.memoryUsage() costs
// what Runtime.getHeapUsage costs (both within the noise of a busy loop asked every 10 ms, measured
// side by side) and brings external and arrayBuffers too; getHeapUsage remains for a program whose
// process.memoryUsage() throws.
//
// What it costs, said in docs/tools/process.md: while the trace runs, the inspector's port accepts
// any local user, who can then run code in the process; Node prints "Debugger listening on …" on the
// program's stderr each time it opens.
//
// Exiting: a Node process whose inspector has a session waits for it to disconnect before it
// exits ("Waiting for the debugger to disconnect..."), forever. memtrace asks to be told
// (NodeRuntime.notifyWhenWaitingForDisconnect) and disconnects then, so the program exits as it
// would have.
//
// Closing: process._debugEnd() closes the inspector at once. Node answers SIGUSR1 twice, though,
// through a V8 interrupt (at once, even while JavaScript runs) and through its event loop (once the
// loop turns): in a busy program the second comes later, and would open the inspector again. The
// same call is therefore made again from setImmediate, which runs in the loop's turn after the one
// where the second start lands.
import { readFileSync, readlinkSync } from 'node:fs';
import { TargetError, UsageError } from '../errors.js';
import type { HeapValues } from '../sample/sampler.js';
import { InspectorConnection, inspectorTargetUrl } from './inspector-client.js';
import { catchesSigusr1, listeningSockets, sharesNetworkNamespace, type ListeningSocket } from './inspector-port.js';
import { isNodeBinaryName } from './node-target.js';
import { parseProcStat } from '../sample/linux-proc.js';

export interface InspectorEnd {
  /** Where the inspector listened. */
  socket: ListeningSocket;
  /** Whether memtrace opened it (and so closed it), or found it open (and left it so). */
  opened: boolean;
  /** 'closed' again, 'left-open' (found open), 'still-open' a second after memtrace closed it, or the process 'exited'. */
  state: 'closed' | 'left-open' | 'still-open' | 'exited';
}

export interface AttachedInspector {
  socket: ListeningSocket;
  opened: boolean;
  /** Stops asking; closes the inspector if memtrace opened it. */
  stop(): Promise<InspectorEnd>;
}

export interface AttachInspectorOptions {
  pid: number;
  intervalMs: number;
  /** Each answer, as it comes. */
  onHeap(values: HeapValues): void;
  /** How long the process may take to open its inspector after SIGUSR1. */
  openTimeoutMs?: number;
}

const MEMORY_USAGE =
  '(() => { const m = globalThis.process.memoryUsage(); return [m.heapUsed, m.heapTotal, m.external, m.arrayBuffers]; })()';
const CLOSE_INSPECTOR = 'globalThis.process._debugEnd(); setImmediate(() => globalThis.process._debugEnd())';

/** What memtrace says when it has reached an attached process's inspector: opened for `purpose`, or found open. */
export function describeInspectorOpened(inspector: AttachedInspector, pid: number, purpose: string): string {
  const where = `${inspector.socket.host}:${inspector.socket.port}`;
  return inspector.opened
    ? `memtrace: opened the inspector of PID ${pid} on ${where} for ${purpose} (any local user can connect to it until memtrace closes it at the end)\n`
    : `memtrace: PID ${pid}'s inspector was already open on ${where}: memtrace asks it, and leaves it open\n`;
}

/** What became of an attached process's inspector, when it is worth saying: closed again, or still open. */
export function describeInspectorEnd(end: InspectorEnd, pid: number): string | null {
  const where = `${end.socket.host}:${end.socket.port}`;
  if (end.state === 'left-open' || end.state === 'exited') return null;
  return end.state === 'closed'
    ? `memtrace: closed the inspector of PID ${pid} again (${where})\n`
    : `memtrace: the inspector of PID ${pid} still listens on ${where} (process._debugEnd() did not close it): the program can call require('node:inspector').close(), or be restarted\n`;
}

export async function attachInspector(options: AttachInspectorOptions): Promise<AttachedInspector> {
  const { pid, intervalMs } = options;
  const openTimeoutMs = options.openTimeoutMs ?? 5000;
  if (process.platform !== 'linux') throw new UsageError("--attach-inspector finds the process's inspector through /proc: Linux only");
  const executable = procOrGone(pid, () => readlinkSync(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
  if (!isNodeBinaryName(executable)) {
    throw new UsageError(`--attach-inspector opens a Node.js program's inspector, and PID ${pid} runs ${executable}`);
  }
  if (!procOrGone(pid, () => sharesNetworkNamespace(pid))) {
    throw new TargetError(
      `PID ${pid} is in another network namespace (a container?): its inspector's port cannot be reached from here; run memtrace inside it`,
    );
  }

  // A stopped process (SIGSTOP, a debugger) runs nothing: it would open the port only once resumed,
  // after memtrace had given up on it, and nobody would close it.
  const state = procOrGone(pid, () => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.state);
  if (state === 'T' || state === 't') {
    throw new TargetError(
      `PID ${pid} is stopped (${state === 't' ? 'by a debugger' : 'by a signal'}): it cannot open its inspector; resume it first (kill -CONT ${pid})`,
    );
  }
  const before = procOrGone(pid, () => listeningSockets(pid));
  let found = startedWithInspector(pid) ? await findInspector(before) : null;
  let opened = false;
  if (found === null) {
    if (!procOrGone(pid, () => catchesSigusr1(pid))) {
      throw new TargetError(
        `PID ${pid} does not handle SIGUSR1 (a Node started with --disable-sigusr1 or still starting, or not Node at all): memtrace does not send it, as the signal would end the process; start the program with --inspect, and memtrace uses that inspector`,
      );
    }
    try {
      process.kill(pid, 'SIGUSR1');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') throw new TargetError(`PID ${pid} exited`);
      throw new TargetError(`cannot send SIGUSR1 to PID ${pid} (${code}): run memtrace as its user or as root`, { cause: error });
    }
    found = await waitForNewInspector(pid, before, openTimeoutMs);
    opened = found !== null;
    // Opened earlier (by another client, or a memtrace that was killed): the signal changed nothing.
    found ??= await findInspector(before);
    if (found === null) {
      throw new TargetError(
        `PID ${pid} opened no inspector within ${openTimeoutMs / 1000} s of SIGUSR1: its port (--inspect-port, 9229 by default) may be taken by another process (Node says so on the program's stderr), or the program is in a long native call; if so, it opens the port once the call returns, and memtrace is not there to close it: then close it with "node inspect -p ${pid}" and "exec process._debugEnd()"`,
      );
    }
  }
  const connection = await InspectorConnection.open(found.url, openTimeoutMs);
  return new HeapAsker(pid, intervalMs, options.onHeap, connection, found.socket, opened).start();
}

class HeapAsker implements AttachedInspector {
  private timer: NodeJS.Timeout | null = null;
  private asking = false;
  /** Set once process.memoryUsage() throws in the program (a program may replace it): V8's own two figures remain. */
  private heapOnly = false;
  private ended: Promise<InspectorEnd> | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs: number,
    private readonly onHeap: (values: HeapValues) => void,
    private readonly connection: InspectorConnection,
    readonly socket: ListeningSocket,
    readonly opened: boolean,
  ) {}

  /** Waits for the first answer (bounded), so that the first sample has figures too. */
  async start(): Promise<this> {
    this.connection.onEvent('NodeRuntime.waitingForDisconnect', () => {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      void this.connection.close();
    });
    try {
      await this.connection.call('NodeRuntime.notifyWhenWaitingForDisconnect', { enabled: true });
    } catch (error) {
      // Every Node since 12 has it; without it, the program could not exit while memtrace is attached.
      await this.connection.close();
      throw new TargetError(
        `PID ${this.pid}'s inspector cannot tell memtrace when the program exits (${(error as Error).message}): not attaching, as the program would wait for memtrace at its exit`,
      );
    }
    const first = this.ask();
    this.timer = setInterval(() => void this.ask(), this.intervalMs);
    await Promise.race([first, new Promise((resolve) => setTimeout(resolve, Math.max(1000, 2 * this.intervalMs)).unref())]);
    return this;
  }

  stop(): Promise<InspectorEnd> {
    this.ended ??= this.close();
    return this.ended;
  }

  private async ask(): Promise<void> {
    // One question at a time: a program in a long GC or native call answers them all at once, late.
    if (this.asking || !this.connection.isOpen) return;
    this.asking = true;
    try {
      this.onHeap(this.heapOnly ? await this.heapUsage() : await this.memoryUsage());
    } catch {
      // No figures this interval: the sample counts it (HeapReports), and says why.
    } finally {
      this.asking = false;
    }
  }

  private async memoryUsage(): Promise<HeapValues> {
    const answer = await this.connection.call(
      'Runtime.evaluate',
      { expression: MEMORY_USAGE, returnByValue: true, silent: true },
      this.answerTimeoutMs(),
    );
    const value = (answer.result as { value?: unknown } | undefined)?.value;
    if (
      answer.exceptionDetails !== undefined ||
      !Array.isArray(value) ||
      !value.every((figure) => Number.isFinite(figure) && figure >= 0)
    ) {
      this.heapOnly = true;
      return this.heapUsage();
    }
    const [heapUsed, heapTotal, external, arrayBuffers] = value as number[];
    return { heapUsed: heapUsed!, heapTotal: heapTotal!, external: external!, arrayBuffers: arrayBuffers! };
  }

  private async heapUsage(): Promise<HeapValues> {
    const { usedSize, totalSize } = (await this.connection.call('Runtime.getHeapUsage', {}, this.answerTimeoutMs())) as {
      usedSize: number;
      totalSize: number;
    };
    return { heapUsed: usedSize, heapTotal: totalSize };
  }

  private answerTimeoutMs(): number {
    return Math.max(5000, 10 * this.intervalMs);
  }

  private async close(): Promise<InspectorEnd> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (!this.opened) {
      await this.connection.close();
      return { socket: this.socket, opened: false, state: 'left-open' };
    }
    // The call closes the connection it came through: its answer never comes.
    this.connection.send('Runtime.evaluate', { expression: CLOSE_INSPECTOR, silent: true });
    await Promise.race([this.connection.closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.connection.close();
    return { socket: this.socket, opened: true, state: await portState(this.pid, this.socket, 1000) };
  }
}

/** Whether the command line or NODE_OPTIONS of `pid` opens the inspector at start (--inspect, --inspect-brk, --inspect-wait). */
function startedWithInspector(pid: number): boolean {
  const words = (path: string, separator: string | RegExp): string[] => {
    try {
      return readFileSync(path, 'utf8').split(separator);
    } catch {
      return [];
    }
  };
  const nodeOptions =
    words(`/proc/${pid}/environ`, '\0')
      .find((entry) => entry.startsWith('NODE_OPTIONS='))
      ?.slice('NODE_OPTIONS='.length) ?? '';
  return [...words(`/proc/${pid}/cmdline`, '\0'), ...nodeOptions.split(/\s+/)].some((word) => /^--inspect(-brk|-wait)?(=|$)/.test(word));
}

/** The first of `sockets` that answers as an inspector. */
async function findInspector(sockets: ListeningSocket[]): Promise<{ socket: ListeningSocket; url: string } | null> {
  for (const socket of sockets) {
    const url = await inspectorTargetUrl(socket, 1000);
    if (url !== null) return { socket, url };
  }
  return null;
}

/** Polls the process's sockets until one appears that was not there before and answers as an inspector. */
async function waitForNewInspector(
  pid: number,
  before: ListeningSocket[],
  timeoutMs: number,
): Promise<{ socket: ListeningSocket; url: string } | null> {
  const known = new Set(before.map((socket) => `${socket.host}:${socket.port}`));
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const fresh = procOrGone(pid, () => listeningSockets(pid)).filter((socket) => !known.has(`${socket.host}:${socket.port}`));
    const found = await findInspector(fresh);
    if (found !== null) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

/** Whether `socket` stops listening in `pid` within `timeoutMs`. */
async function portState(pid: number, socket: ListeningSocket, timeoutMs: number): Promise<'closed' | 'still-open' | 'exited'> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let sockets: ListeningSocket[];
    try {
      sockets = listeningSockets(pid);
    } catch {
      return 'exited';
    }
    if (!sockets.some((other) => other.port === socket.port && other.host === socket.host)) return 'closed';
    if (performance.now() >= deadline) return 'still-open';
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs a read of /proc/PID; a process that has gone becomes a TargetError that says so. */
function procOrGone<T>(pid: number, read: () => T): T {
  try {
    return read();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new TargetError(`PID ${pid} exited`);
    throw new TargetError(`cannot read /proc/${pid} (${code ?? (error as Error).message}): run memtrace as the process's user or as root`, {
      cause: error,
    });
  }
}
