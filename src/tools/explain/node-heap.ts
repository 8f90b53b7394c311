// V8's own figures of a Node process at the snapshot, through its inspector (node/inspector-attach.ts):
// opened with SIGUSR1 for a moment and closed again, only when the user asked (--attach-inspector),
// as any local user can connect to it meanwhile. Without the option a Node target gets a hint.
import { attachInspector, describeInspectorEnd, describeInspectorOpened } from '../../node/inspector-attach.js';
import type { HeapValues } from '../../sample/sampler.js';
import { targetRunsNode } from '../common/node-target-kind.js';

export async function readNodeHeap(pid: number, attach: boolean, stderr: NodeJS.WritableStream): Promise<HeapValues | null> {
  if (!attach) {
    if (await targetRunsNode({ kind: 'attach', pid }))
      stderr.write(
        `memtrace: PID ${pid} runs Node.js: --attach-inspector also splits out V8's heap and its external memory (memtrace opens the program's inspector for a moment: see docs/tools/explain.md)\n`,
      );
    return null;
  }
  let latest: HeapValues | null = null;
  // One answer is all a snapshot needs: start() waits for the first (bounded), then it is closed.
  const inspector = await attachInspector({ pid, intervalMs: 1000, onHeap: (values) => void (latest = values) });
  stderr.write(describeInspectorOpened(inspector, pid, 'the snapshot'));
  const end = await inspector.stop();
  stderr.write(describeInspectorEnd(end, pid) ?? '');
  return latest;
}
