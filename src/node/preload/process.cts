// Preloaded (`--require`) into a Node program launched by `memtrace process`: reports V8's heap
// figures (process.memoryUsage) to the sampler through its socket, every sampling interval.
//
// It runs inside the user's program, so it uses only node: builtins, keeps nothing alive (timer
// and socket are unref'd), and swallows its own errors: a sampler that went away must not disturb
// the program. Child Node processes inherit it and report too, under their own PIDs.
import { createConnection, type Socket } from 'node:net';

const socketPath = process.env.MEMTRACE_PROCESS_SOCKET;
const intervalMs = Number(process.env.MEMTRACE_PROCESS_INTERVAL_MS);

if (socketPath !== undefined && socketPath !== '' && intervalMs > 0) {
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
    socket.write(`${JSON.stringify({ heap: { pid: process.pid, heapUsed, heapTotal, external, arrayBuffers } })}\n`);
  };
  socket.once('connect', report);
  const timer = setInterval(report, intervalMs);
  timer.unref();
}
