// The worker thread that process.cts starts inside a launched Node program (not a preload itself):
// it asks V8 for the main thread's heap figures through the inspector, and sends them to the
// sampler, every interval, however busy the main thread is.
//
// Why a worker and the inspector: a timer on the main thread never fires while the program keeps
// its event loop busy (a compiler, a bundler, JSON.parse of a large file), so the preload's own
// timer sends nothing for as long as the program works. A session connected to the main thread
// from a worker (inspector.Session.connectToMainThread, worker-only) is answered through V8's
// interrupts, between two JavaScript instructions of the busy program. `Runtime.getHeapUsage`
// answers V8's used and total heap (the figures process.memoryUsage() gives as heapUsed and
// heapTotal) without running any JavaScript in the program and without allocating in its heap;
// `external` and `arrayBuffers` have no inspector method, and still come from the main thread's
// timer when its event loop is free.
//
// The session must be gone before the program exits: Node prints "Waiting for the debugger to
// disconnect..." at process.exit() while a session to the main thread is open, and waits for it
// under --inspect. `state` (shared with the main thread) settles who goes first: the main thread
// claims it at exit, the worker claims it before connecting; see process.cts.
import { Session } from 'node:inspector';
import { createConnection } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/** The states of `state[0]`, shared with process.cts (which sets 3: exiting, too late to connect). */
const IDLE = 0;
const CONNECTED = 1;
const DISCONNECTED = 2;

const { socketPath, intervalMs, pid, state: buffer } = workerData as { socketPath: string; intervalMs: number; pid: number; state: SharedArrayBuffer };
const state = new Int32Array(buffer);

if (Atomics.compareExchange(state, 0, IDLE, CONNECTED) === IDLE) {
  const session = new Session();
  const socket = createConnection(socketPath);
  let timer: NodeJS.Timeout | null = null;
  let asking = false;
  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    if (Atomics.load(state, 0) === CONNECTED) {
      try {
        session.disconnect();
      } finally {
        Atomics.store(state, 0, DISCONNECTED);
        Atomics.notify(state, 0);
      }
    }
    socket.destroy();
    parentPort?.close();
  };
  socket.on('error', stop);
  parentPort?.on('message', stop);
  const ask = (): void => {
    // One question at a time: while the main thread is in a long GC or in native code, questions
    // would pile up and all be answered at once, with the same figures.
    if (asking || socket.destroyed) return;
    asking = true;
    session.post('Runtime.getHeapUsage', (error, usage) => {
      asking = false;
      if (error !== null || usage === undefined || socket.destroyed) return;
      // usedSize and totalSize: V8's used_heap_size and total_heap_size, as heapUsed and heapTotal.
      const { usedSize, totalSize } = usage as { usedSize: number; totalSize: number };
      socket.write(`${JSON.stringify({ heap: { pid, heapUsed: usedSize, heapTotal: totalSize, via: 'inspector' } })}\n`);
    });
  };
  try {
    session.connectToMainThread();
    socket.once('connect', () => {
      socket.write(`${JSON.stringify({ preload: { pid, via: 'inspector' } })}\n`);
      ask();
      timer = setInterval(ask, intervalMs);
    });
  } catch {
    // The inspector refused (a permission model without --allow-inspector?): the timer path remains.
    stop();
  }
}
