// Whether the traced process runs node: its stacks are walked along frame pointers by default, as
// DWARF unwinding stops at V8's generated code (run/stack-unwinder.ts).
import { readlink } from 'node:fs/promises';
import { isNodeBinaryName, isNodeCommand } from '../../node/node-target.js';
import type { Target } from '../../run/target.js';

export async function targetRunsNode(target: Target): Promise<boolean> {
  if (target.kind === 'launch')
    return (await isNodeCommand(target.command[0]!, process.env.PATH ?? '').catch(() => ({ node: false }))).node;
  const executable = await readlink(`/proc/${target.pid}/exe`).catch(() => null);
  return executable !== null && isNodeBinaryName(executable.replace(/ \(deleted\)$/, ''));
}
