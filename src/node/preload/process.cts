// Preloaded (`--require`) into a Node program launched by `memtrace process`: reports V8's heap
// figures to the sampler through its socket, every sampling interval, from two places:
//
// - a worker thread (process-heap-worker.cts) that asks V8 through the inspector for heapUsed and
//   heapTotal: answered while the main thread runs JavaScript, so a busy program is sampled too;
// - a timer on the main thread that sends process.memoryUsage() (external and arrayBuffers
//   besides), which runs only while the event loop is free.
//
// It runs inside the user's program, so it uses only node: builtins, keeps nothing alive (timer,
// socket and worker are unref'd), and swallows its own errors: a sampler that went away, or a
// worker that cannot start, must not disturb the program or change its exit code. It acts only on
// the main thread: the program's own workers (and memtrace's) load it too, through NODE_OPTIONS,
// and must not report a worker's heap as the process's. Child Node processes inherit it and report
// too, under their own PIDs.
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { isMainThread, Worker } from 'node:worker_threads';

const socketPath = process.env.MEMTRACE_PROCESS_SOCKET;
const intervalMs = Number(process.env.MEMTRACE_PROCESS_INTERVAL_MS);

if (isMainThread && socketPath !== undefined && socketPath !== '' && intervalMs > 0) {
  // The worker (13 MiB of RSS) only in the program memtrace launched, whose figures it logs: child
  // Node processes (npm's scripts, a build's workers) inherit the preload and report from their
  // timers, under their own PIDs, as before.
  const launched = process.env.MEMTRACE_PROCESS_PARENT === String(process.ppid);
  const workerProblem = launched ? startHeapWorker(socketPath, intervalMs) : null;
  let socket: Socket | null = createConnection(socketPath);
  socket.unref();
  socket.on('error', () => {
    socket?.destroy();
    socket = null;
  });
  const report = (): void => {
    if (socket === null || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    socket.write(`${JSON.stringify({ heap: { pid: process.pid, heapUsed, heapTotal, external, arrayBuffers, via: 'timer' } })}\n`);
  };
  socket.once('connect', () => {
    // The worker says so itself when it runs; when it does not, the sampler is told why here (late:
    // once the event loop is free), so the samples that lack figures can say why.
    if (workerProblem !== null) socket?.write(`${JSON.stringify({ preload: { pid: process.pid, via: 'timer', why: workerProblem } })}\n`);
    report();
  });
  const timer = setInterval(report, intervalMs);
  timer.unref();
}

/**
 * Who emitted 'exit', from the stack of an 'exit' listener: process.exit() (which goes on to
 * process.reallyExit), Node itself when the event loop ran dry (no JavaScript caller), or anything
 * else (an uncaught exception, or a stack that cannot be read: the safe side).
 */
function exitCaller(): 'process.exit' | 'loop-ended' | 'other' {
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 8;
    const frames = (new Error().stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
    const emit = frames.findIndex((line) => /^\s+at process\.emit \(node:events/.test(line));
    if (emit === -1) return 'other';
    const caller = frames[emit + 1];
    if (caller === undefined) return 'loop-ended';
    return /^\s+at process\.exit \(node:/.test(caller) ? 'process.exit' : 'other';
  } catch {
    return 'other';
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Starts the heap worker; returns null, or why it could not be started. */
function startHeapWorker(path: string, everyMs: number): string | null {
  const EXITING = 3;
  const CONNECTED = 1;
  try {
    // Not every Node has it (built --without-inspector; connectToMainThread is Node 12.11+).
    const { Session } = require('node:inspector') as typeof import('node:inspector');
    if (typeof Session.prototype.connectToMainThread !== 'function') return `Node ${process.version} has no inspector.Session.connectToMainThread`;
  } catch (error) {
    return `no inspector in this Node: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    const buffer = new SharedArrayBuffer(8);
    const state = new Int32Array(buffer);
    const worker = new Worker(join(__dirname, 'process-heap-worker.cjs'), {
      workerData: { socketPath: path, intervalMs: everyMs, pid: process.pid, state: buffer },
      // The worker needs none of the program's options (--inspect, loaders, --require).
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    worker.on('error', () => {});
    const disconnect = (): void => {
      // Claim the state: a worker that has not connected yet never will; one that has is told to
      // disconnect, and its disconnection reaches this thread through an interrupt, which
      // Atomics.wait handles. A bounded wait: an exit is never held up for long.
      if (Atomics.compareExchange(state, 0, 0, EXITING) !== CONNECTED) return;
      worker.postMessage('stop');
      const deadline = performance.now() + 200;
      while (Atomics.load(state, 0) === CONNECTED && performance.now() < deadline) Atomics.wait(state, 0, CONNECTED, 10);
      // One more short wait lets the interrupt that carries the disconnection run, if it is behind.
      Atomics.wait(state, 1, 0, 1);
    };
    // process.exit() runs every 'exit' listener, then process.reallyExit(), where Node looks for open
    // sessions: disconnecting there keeps the program's own exit listeners sampled (a report written
    // at exit, heap-stats' final snapshots). signal-exit hooks the same function. When the event
    // loop runs dry, Node stops its workers (and their sessions) before it looks: nothing to do. An
    // uncaught exception has no such hop: the 'exit' listener disconnects then.
    const processWithExit = process as unknown as { reallyExit?: (code?: number) => never };
    const reallyExit = processWithExit.reallyExit;
    const hooked = typeof reallyExit === 'function';
    if (hooked) {
      processWithExit.reallyExit = function (this: unknown, code?: number): never {
        disconnect();
        return reallyExit.call(this, code);
      };
    }
    process.on('exit', () => {
      const caller = exitCaller();
      if (caller === 'other' || (caller === 'process.exit' && !hooked)) disconnect();
    });
    return null;
  } catch (error) {
    return `the heap worker could not start: ${error instanceof Error ? error.message : String(error)}`;
  }
}
