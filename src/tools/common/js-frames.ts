// JS frames in native stacks: what a tool does so that the return addresses its program walked
// through V8's generated code come out as `JS:~function file:line` rather than hex.
//
// V8 names its code in a perf map (src/symbols/perf-map.ts) only when asked to at start-up. For a
// Node command memtrace launches with --js it asks through NODE_OPTIONS rather than the argv: the
// command may be `npm run x` or a script with a `#!/usr/bin/env node` line, where there is no node
// argv to edit, and NODE_OPTIONS is read by every node binary however it is started.
//   --perf-basic-prof-only-functions   JS functions only: a smaller map than --perf-basic-prof,
//                                      whose extra entries (builtins) the ELF symbols name anyway
//   --interpreted-frames-native-stack  gives each interpreted function its own copy of the
//                                      interpreter's entry code; without it every not-yet-compiled
//                                      function is the one frame Builtins_InterpreterEntryTrampoline
// An attached node cannot start writing a map: memtrace uses the map when there is one, and says
// how to get one when there is none.
import { rm } from 'node:fs/promises';
import { isNodeBinaryName } from '../../node/node-target.js';
import type { MappingHistory } from '../../symbols/proc-maps.js';
import { locatePerfMap, readPerfMap, type PerfMap } from '../../symbols/perf-map.js';

export const PERF_MAP_NODE_FLAGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'] as const;

/** NODE_OPTIONS with the perf-map flags appended (those already there are not repeated). */
export function nodeOptionsWithPerfMap(existing: string | undefined): string {
  const current = existing?.trim() ?? '';
  const words = current.split(/\s+/);
  const added = PERF_MAP_NODE_FLAGS.filter((flag) => !words.includes(flag));
  return [current, ...added].filter((part) => part !== '').join(' ');
}

/** Whether the process mapped a node executable (the test for "is this node" on an attached PID). */
export function mapsShowNode(history: MappingHistory): boolean {
  return history.all().some((mapping) => mapping.path.startsWith('/') && isNodeBinaryName(mapping.path));
}

export interface JsSymbols {
  perfMap: PerfMap | null;
  path: string | null;
  notes: string[];
}

/**
 * The perf map of PID, if it writes one, with the notes a report needs: a map with unreadable lines,
 * or a node process without a map (how to enable one). `located` is where the map was found while
 * the process lived (a container's map is reachable only through /proc/PID/root).
 */
export async function loadJsSymbols(
  pid: number,
  history: MappingHistory,
  options: { located: string | null; launchedWithFlags: boolean },
): Promise<JsSymbols> {
  const path = options.located ?? (await locatePerfMap(pid));
  const notes: string[] = [];
  if (path === null) {
    if (options.launchedWithFlags) {
      notes.push(
        `PID ${pid} wrote no perf map although memtrace asked for one (${PERF_MAP_NODE_FLAGS.join(' ')} in NODE_OPTIONS): is the command a node older than 8, or one that clears NODE_OPTIONS?`,
      );
    } else if (mapsShowNode(history)) {
      notes.push(
        `PID ${pid} is node without a perf map (/tmp/perf-${pid}.map): its JS frames are hex addresses. ` +
          `Start it with NODE_OPTIONS="${PERF_MAP_NODE_FLAGS.join(' ')}" (or memtrace's --js when memtrace launches it) to see JS function names`,
      );
    }
    return { perfMap: null, path: null, notes };
  }
  const perfMap = await readPerfMap(path).catch(() => null);
  if (perfMap === null) {
    notes.push(`the perf map ${path} could not be read: JS frames are hex addresses`);
    return { perfMap: null, path, notes };
  }
  if (perfMap.malformedLines > 0) notes.push(`${perfMap.malformedLines} malformed lines of the perf map ${path} were skipped`);
  return { perfMap, path, notes };
}

/** Removes a perf map that exists only because memtrace asked for it (V8 never deletes its own). */
export async function removePerfMap(path: string | null): Promise<void> {
  if (path !== null) await rm(path, { force: true });
}
