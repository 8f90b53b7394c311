// Preloaded (`--require`) into a Node program launched by `memtrace heap-stats`: snapshots V8's
// heap figures when the program starts and when it ends, and writes both (with snapshots taken back
// to back: the tool's own noise) to MEMTRACE_HEAP_STATS_DIR/heap-stats-PID.json.
//
// It writes on a normal exit, on process.exit(), and on SIGINT/SIGTERM; for a signal the program
// does not handle itself, it then re-raises the signal so that the program dies as it would have.
// Child Node processes inherit it and write their own files.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settledSnapshot, warmUpSnapshots, type HeapSnapshot } from '../heap-snapshot.cjs';
import { onProgramEnd } from '../program-end.cjs';

const directory = process.env.MEMTRACE_HEAP_STATS_DIR;

if (directory !== undefined && directory !== '') {
  const gc = process.env.MEMTRACE_HEAP_STATS_GC !== '0';
  const snapshot = (): HeapSnapshot => settledSnapshot(gc);
  // Snapshots back to back: how much the figures move when nothing happens (see NOISE_SNAPSHOTS).
  warmUpSnapshots();
  const noise = [snapshot(), snapshot(), snapshot(), snapshot(), snapshot(), snapshot()];
  const start = new Date().toISOString();
  const began = performance.now();
  const before = snapshot();
  onProgramEnd((ending) => {
    const after = snapshot();
    const record = { pid: process.pid, ppid: process.ppid, argv: process.argv, node: process.version, start, durationSeconds: (performance.now() - began) / 1000, gc, ending, before, after, noise };
    writeFileSync(join(directory, `heap-stats-${process.pid}.json`), `${JSON.stringify(record)}\n`);
  });
}
