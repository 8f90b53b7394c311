// Turns C++ symbol names (Itanium ABI, `_Z…`) into source-level names with binutils' c++filt.
//
// One c++filt process demangles the whole batch: names go to its stdin one per line and come back
// on stdout in the same order, so line N of the output belongs to name N. That alignment is the
// whole protocol, hence the two rules below: a name containing a newline is never sent, and an
// output whose line count differs from the input's is thrown away (the mangled names are kept).
import { spawn } from 'node:child_process';

/** The demangled names, keyed by the names passed in; `demanglerMissing` says c++filt could not be used. */
export class DemangledNames extends Map<string, string> {
  /** c++filt was not found or failed: every name maps to itself. */
  demanglerMissing = false;
  /** Why, when demanglerMissing is set. */
  problem: string | undefined;
}

export interface DemangleOptions {
  /** The c++filt program to run; tests point it at a missing file. */
  command?: string;
}

/** Itanium mangled names, with the `.cold` / `.isra.0` clone suffixes GCC adds (c++filt understands them). */
function isMangled(name: string): boolean {
  return name.startsWith('_Z') && !name.includes('\n') && !name.includes('\r');
}

/**
 * Demangles `names` in one c++filt run. Every name is a key of the result: mangled ones map to their
 * demangled form, all others (C names, `memtrace_…` aliases, hex addresses) to themselves. Never
 * throws for a missing or failing c++filt; it reports that through `demanglerMissing`.
 */
export async function demangle(names: readonly string[], options: DemangleOptions = {}): Promise<DemangledNames> {
  const result = new DemangledNames();
  for (const name of names) result.set(name, name);
  const mangled = [...new Set(names.filter(isMangled))];
  if (mangled.length === 0) return result;

  let output: string[];
  try {
    output = await runFilter(options.command ?? 'c++filt', mangled);
  } catch (error) {
    result.demanglerMissing = true;
    result.problem = error instanceof Error ? error.message : String(error);
    return result;
  }
  if (output.length !== mangled.length) {
    result.demanglerMissing = true;
    result.problem = `c++filt returned ${output.length} lines for ${mangled.length} names`;
    return result;
  }
  mangled.forEach((name, i) => result.set(name, output[i]!));
  return result;
}

function runFilter(command: string, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    // No shell: the command is exec'ed directly and the names only ever travel through stdin.
    const child = spawn(command, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          error.code === 'ENOENT' ? `${command} not found (install binutils to demangle C++ names)` : `${command}: ${error.message}`,
        ),
      );
    });
    // EPIPE when the child died early is reported by 'close' below with its exit status.
    child.stdin.on('error', () => {});
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${command} exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`));
        return;
      }
      const text = Buffer.concat(stdout).toString('utf8');
      resolve(text === '' ? [] : text.replace(/\n$/, '').split('\n'));
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}
