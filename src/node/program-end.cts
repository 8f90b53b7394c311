// Calls `write` once when the program ends — normally, through process.exit(), or on SIGINT or
// SIGTERM — for the preloads, which must report whatever ends the program. For a signal the
// program does not handle itself, the signal is re-raised once written, so the program dies the way
// it would have without memtrace (its exit status says "killed by SIGINT").
export function onProgramEnd(write: (ending: string) => void): void {
  let written = false;
  const once = (ending: string): void => {
    if (written) return;
    written = true;
    try {
      write(ending);
    } catch {
      // memtrace's directory is gone, or the inspector is taken: the program must not fail for it.
    }
  };
  process.on('exit', () => once('exit'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      once(signal);
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
