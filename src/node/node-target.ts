// What the CLI needs to run the in-process tools (trace-malloc, heap-stats, process's heap values)
// inside a Node program it launches: telling whether a command is Node at all, and adding a
// preload module to the Node options it inherits, without disturbing the user's own.
import { open, realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { resolveCommand } from '../run/target.js';

/** The compiled preload module `name` (dist/node/preload/NAME.cjs). */
export function preloadPath(name: 'trace-malloc' | 'heap-stats' | 'process'): string {
  return fileURLToPath(new URL(`./preload/${name}.cjs`, import.meta.url));
}

/**
 * NODE_OPTIONS with `--require PATH` appended. Node splits NODE_OPTIONS on spaces but honours
 * double quotes with backslash escapes, so a path with a space or quote is quoted that way.
 */
export function nodeOptionsWithPreload(existing: string | undefined, path: string): string {
  const quoted = /^[\w./@+-]+$/.test(path) ? path : `"${path.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return [existing?.trim(), `--require ${quoted}`].filter((part) => part !== undefined && part !== '').join(' ');
}

const NODE_BINARY = /^(node|nodejs)(\d+(\.\d+)*)?$/;

/** Whether a path names a node executable by its file name (`node`, `nodejs`, `node20`). */
export function isNodeBinaryName(path: string): boolean {
  return NODE_BINARY.test(basename(path));
}

/**
 * Whether a command runs Node.js: a `node` binary, or a script whose #! line names node (npm, npx,
 * and most JavaScript CLIs). A shell script that ends up in node is not recognised: run node
 * directly. Returns the resolved path for messages.
 */
export async function isNodeCommand(command: string, searchPath: string): Promise<{ node: boolean; path: string }> {
  const path = await resolveCommand(command, searchPath);
  const real = await realpath(path).catch(() => path);
  if (NODE_BINARY.test(basename(real)) || NODE_BINARY.test(basename(path))) return { node: true, path };
  const head = await readHead(real, 256);
  if (head.startsWith('#!')) {
    const shebang = head.slice(2, head.indexOf('\n') === -1 ? undefined : head.indexOf('\n'));
    return { node: shebang.split(/[\s/]+/).some((word) => NODE_BINARY.test(word)), path };
  }
  return { node: false, path };
}

/** Throws a clear UsageError unless `command` runs Node.js. */
export async function requireNodeCommand(tool: string, command: string[], searchPath: string): Promise<void> {
  if (command.length === 0) throw new UsageError(`${tool}: no command after --`);
  const { node, path } = await isNodeCommand(command[0]!, searchPath);
  if (!node) {
    throw new UsageError(
      `${tool} needs a Node.js program, and ${command[0]} (${path}) is not one: run "node script.js" (or a script whose #! line names node)`,
    );
  }
}

async function readHead(path: string, length: number): Promise<string> {
  const handle = await open(path, 'r').catch(() => null);
  if (handle === null) return '';
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead).toString('latin1');
  } finally {
    await handle.close();
  }
}
