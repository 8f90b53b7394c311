// Which Python a traced process runs, which of its USDT probes exist, and so what `calls` will and
// won't see. The interpreter is the process's executable (/proc/PID/exe), or the libpython it maps
// (pyenv and other shared builds keep the probes there); its version comes from those file names.
//
// What the probes report, by CPython version (docs/tools/calls.md):
//   ≤ 3.10 built --with-dtrace   function__entry/return for every Python function
//   3.11                          entry/return only while the line probe is enabled too (it turns
//                                 the interpreter onto its tracing path); python/cpython#98894
//   3.12 – 3.14                   function__entry/return/line removed
//   3.15                          entry/return restored
// Builtin C functions never fire, and frames already running at attach have no entry.
import { readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PythonProbes } from '../../probes/calls-spec.js';
import { readElf } from '../../symbols/elf.js';
import type { Mapping } from '../../symbols/proc-maps.js';
import { readUsdtProbes } from '../../symbols/usdt-notes.js';

export interface PythonInterpreter {
  /** The process's executable. */
  executable: string;
  /** The file holding the probes (the executable or a libpython), or the one inspected when none do. */
  binary: string;
  /** [major, minor], or null when no file name tells. */
  version: [number, number] | null;
  /** Names of the `python` provider's probes in `binary`. */
  probes: string[];
  /** Whether this looks like a Python interpreter at all (its name, or a libpython mapped). */
  isPython: boolean;
}

const VERSION_IN_NAME = /(?:^|\/)(?:lib)?python(\d)\.(\d{1,2})/;

/** Inspects the process's executable and the libpython it maps. */
export async function inspectPythonProcess(pid: number, maps: Mapping[]): Promise<PythonInterpreter> {
  const executable = await readlink(`/proc/${pid}/exe`).catch(() => '');
  const libraries = [...new Set(maps.map((mapping) => mapping.path).filter((path) => /^libpython\d\.\d+[a-z]*\.so/.test(basename(path))))];
  const candidates = [executable, ...libraries].filter((path) => path.startsWith('/'));
  let chosen: { path: string; probes: string[] } | null = null;
  for (const path of candidates) {
    const probes = await pythonProbesOf(path);
    if (probes.length > 0 || chosen === null) chosen = { path, probes };
    if (probes.includes('function__entry')) break;
  }
  const names = [executable, ...libraries];
  const version = names.map((name) => VERSION_IN_NAME.exec(name)).find((match) => match !== null);
  return {
    executable,
    binary: chosen?.path ?? executable,
    version: version ? [Number(version[1]), Number(version[2])] : null,
    probes: chosen?.probes ?? [],
    isPython: libraries.length > 0 || /python/i.test(basename(executable)),
  };
}

async function pythonProbesOf(path: string): Promise<string[]> {
  try {
    return (await readUsdtProbes(await readElf(path))).filter((probe) => probe.provider === 'python').map((probe) => probe.name);
  } catch {
    return [];
  }
}

export interface PythonPlan {
  /** The probes to enable, or null when this interpreter reports no calls. */
  probes: PythonProbes | null;
  /** What the user will and won't see, said before tracing and kept in the report. */
  notes: string[];
}

/** The probes to use and what to tell the user, from the version table above. */
export function planPythonProbes(interpreter: PythonInterpreter): PythonPlan {
  const name = interpreter.version === null ? 'this Python' : `CPython ${interpreter.version.join('.')}`;
  const where = interpreter.binary === '' ? 'an unknown executable' : interpreter.binary;
  if (!interpreter.isPython && interpreter.probes.length === 0) {
    return {
      probes: null,
      notes: [`${interpreter.executable || 'the target'} is not a Python interpreter: no Python events (--func probes native functions)`],
    };
  }
  const hasCalls = interpreter.probes.includes('function__entry') && interpreter.probes.includes('function__return');
  if (!hasCalls) {
    const [major, minor] = interpreter.version ?? [0, 0];
    const why =
      major === 3 && minor >= 12 && minor <= 14
        ? `${name} (${where}) has no function probes: CPython 3.12 to 3.14 removed them; use --func, or CPython 3.15 (restored) or an interpreter up to 3.11 built with --with-dtrace`
        : `${name} (${where}) was built without USDT probes (configure --with-dtrace): no Python events; use --func, or an interpreter built with them (Debian's /usr/bin/python3.11 is)`;
    return { probes: null, notes: [why] };
  }
  const is311 = interpreter.version !== null && interpreter.version[0] === 3 && interpreter.version[1] === 11;
  const lines = is311 && interpreter.probes.includes('line');
  const notes = [
    lines
      ? `${name} (${where}): calls and returns of Python functions, seen while the line probe is enabled too (3.11 reports Python-to-Python calls only then); every executed line crosses a probe, counted, not logged (python/cpython#98894)`
      : `${name} (${where}): calls and returns of Python functions from its function__entry/function__return probes`,
    'not seen: builtin C functions (len, list.append…), and the calls of frames already running when tracing starts (their returns are seen)',
  ];
  return { probes: { binary: interpreter.binary, lines }, notes };
}
