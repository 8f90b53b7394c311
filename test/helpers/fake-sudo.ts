// What the tests of running as root need without a real sudo: the fake sudo of
// test/fixtures/sudo/fake/ (it logs its arguments, or resets PATH as sudo's secure_path does, and
// never changes user), a user other than root to be, and a world-readable scratch directory that
// such a user can read.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './workloads.js';

/** The directory of the fake sudo, to put first on PATH. */
export const FAKE_SUDO_DIRECTORY = `${ROOT}test/fixtures/sudo/fake`;

/** The user the tests become when they run as root: nobody. */
export const UNPRIVILEGED_UID = 65534;

/**
 * `command args` as a user who is not root: as it is when the tests are not root, through setpriv
 * as nobody when they are (CI).
 */
export function asUnprivileged(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  // By its full path: the tests run commands with PATHs that leave /usr/bin out.
  return ['/usr/bin/setpriv', [`--reuid=${UNPRIVILEGED_UID}`, `--regid=${UNPRIVILEGED_UID}`, '--clear-groups', command, ...args]];
}

/** A new scratch directory that every user may read and enter (mkdtemp's are root's alone). */
export function readableTemporaryDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(directory, 0o755);
  return directory;
}
