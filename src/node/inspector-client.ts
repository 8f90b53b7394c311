// A client of a Node process's inspector from outside: the DevTools protocol over the WebSocket
// that the inspector serves. Only what `memtrace process` needs: find the process's target, call a
// method, learn that the connection closed.
//
// The WebSocket is npm's `ws`: Node 20's own WebSocket client is still behind
// --experimental-websocket.
import WebSocket from 'ws';
import type { ListeningSocket } from './inspector-port.js';

export class InspectorError extends Error {}

/** The target that an inspector's `/json/list` lists: a Node process has exactly one. */
interface InspectorTarget {
  type?: string;
  webSocketDebuggerUrl?: string;
}

/**
 * The WebSocket address of the inspector listening at `socket`, or null when what listens there
 * does not answer as an inspector (another server of the program).
 */
export async function inspectorTargetUrl(socket: ListeningSocket, timeoutMs: number): Promise<string | null> {
  const host = socket.host.includes(':') ? `[${socket.host}]` : socket.host;
  let targets: unknown;
  try {
    const response = await fetch(`http://${host}:${socket.port}/json/list`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    targets = await response.json();
  } catch {
    return null;
  }
  if (!Array.isArray(targets)) return null;
  const target = (targets as InspectorTarget[]).find((entry) => typeof entry?.webSocketDebuggerUrl === 'string');
  return target?.webSocketDebuggerUrl ?? null;
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class InspectorConnection {
  /** Settles when the connection has closed, whoever closed it (the program may exit). */
  readonly closed: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, () => void>();

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        for (const [id, call] of this.pending) {
          clearTimeout(call.timer);
          call.reject(new InspectorError('the inspector closed the connection'));
          this.pending.delete(id);
        }
        resolve();
      });
    });
    socket.on('message', (data) => this.receive(String(data)));
    // Errors after the open are followed by 'close', which settles everything.
    socket.on('error', () => {});
  }

  static async open(url: string, timeoutMs: number): Promise<InspectorConnection> {
    // The inspector refuses messages larger than it expects; memtrace's are a few dozen bytes.
    const socket = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', (error) => reject(new InspectorError(`cannot connect to ${url}: ${error.message}`)));
    });
    return new InspectorConnection(socket);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Calls a protocol method; rejects on a protocol error, a timeout or a closed connection. */
  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 5000): Promise<Record<string, unknown>> {
    if (!this.isOpen) return Promise.reject(new InspectorError('the inspector connection is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new InspectorError(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Calls `handler` when the inspector sends the event `method` (the events of the domains enabled). */
  onEvent(method: string, handler: () => void): void {
    this.listeners.set(method, handler);
  }

  /** Sends a call whose answer does not matter (it may never come: the call can close the inspector). */
  send(method: string, params: Record<string, unknown> = {}): void {
    if (this.isOpen) this.socket.send(JSON.stringify({ id: this.nextId++, method, params }));
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return this.closed;
    this.socket.close();
    // A peer that never answers the closing handshake is cut off.
    const timer = setTimeout(() => this.socket.terminate(), 1000);
    timer.unref();
    return this.closed.finally(() => clearTimeout(timer));
  }

  private receive(text: string): void {
    let message: { id?: unknown; result?: Record<string, unknown>; error?: { message?: string } };
    try {
      message = JSON.parse(text);
    } catch {
      return; // not the protocol: nothing waits for it
    }
    if (typeof message.id !== 'number') {
      const method = (message as { method?: unknown }).method;
      if (typeof method === 'string') this.listeners.get(method)?.();
      return;
    }
    const call = this.pending.get(message.id);
    if (call === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(call.timer);
    if (message.error !== undefined) call.reject(new InspectorError(message.error.message ?? 'protocol error'));
    else call.resolve(message.result ?? {});
  }
}
