// A guard that outlives memtrace: if memtrace is killed (even by SIGKILL), the tracer must not run on
// and a target held stopped by memtrace must be continued. The guard is a detached shell reading
// memtrace's instructions from a pipe; the kernel closes the pipe when memtrace dies, however it dies,
// and end-of-file is the guard's cue. On a normal finish memtrace says "done" and the guard exits quietly.
// For DTrace for Linux, which leaves its uprobe_events entries (groups dt_<its pid>_…) behind when it
// is killed, the guard also removes those of the tracer it killed, once that tracer is gone.
import { spawn, type ChildProcess } from 'node:child_process';

const GUARD = [
  'tracer=; target=; uprobes=',
  'while read -r kind pid; do',
  '  case "$kind" in',
  '    tracer) tracer=$pid ;;',
  '    target) target=$pid ;;',
  '    dtrace-uprobes) uprobes=$pid ;;',
  '    done) exit 0 ;;',
  '  esac',
  'done',
  '[ -n "$tracer" ] && kill -KILL "$tracer" 2>/dev/null',
  '[ -n "$target" ] && kill -CONT "$target" 2>/dev/null',
  'if [ -n "$tracer" ] && [ -n "$uprobes" ]; then',
  // Its entries are in use until the killed tracer is gone (reaped by init, as memtrace is dead).
  '  n=0; while kill -0 "$tracer" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done',
  '  grep -o "^[pr]:dt_${tracer}_[^ ]*" "$uprobes" 2>/dev/null | while read -r entry; do echo "-:${entry#??}" >> "$uprobes"; done 2>/dev/null',
  'fi',
  'exit 0',
].join('\n');

export class Watchdog {
  private readonly guard: ChildProcess;

  constructor() {
    this.guard = spawn('/bin/sh', ['-c', GUARD], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.guard.unref();
    this.guard.stdin?.on('error', () => {});
    (this.guard.stdin as unknown as { unref?: () => void })?.unref?.();
  }

  watchTracer(pid: number): void {
    this.send(`tracer ${pid}`);
  }

  watchTarget(pid: number): void {
    this.send(`target ${pid}`);
  }

  /** Remove, after killing the tracer, the entries a DTrace for Linux of its PID left in this uprobe_events file. */
  watchDtraceUprobes(uprobeEvents: string): void {
    this.send(`dtrace-uprobes ${uprobeEvents}`);
  }

  /** memtrace finished normally: the guard leaves without touching anything. */
  release(): void {
    this.send('done');
    this.guard.stdin?.end();
  }

  private send(line: string): void {
    if (this.guard.stdin?.writable) this.guard.stdin.write(`${line}\n`);
  }
}
