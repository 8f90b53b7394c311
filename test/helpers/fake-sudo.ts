// What the tests of running as root need without a real sudo: the fake sudo of
// test/fixtures/sudo/fake/ (it logs its arguments, or resets PATH as sudo's secure_path does, and
// never changes user), a user other than root to be, and a world-readable scratch directory that
// such a user can read.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './workloads.js';

/** The directory of the fake sudo. */
const FAKE_SUDO_DIRECTORY = `${ROOT}test/fixtures/sudo/fake`;

/**
 * A copy of the fake sudo in `directory`/sudo-bin, the directory returned, to put first on PATH: a
 * copy, because the clone the tests run in may be closed to the user they become.
 */
export function installFakeSudo(directory: string): string {
  const bin = join(directory, 'sudo-bin');
  mkdirSync(bin, { mode: 0o755 });
  copyFileSync(join(FAKE_SUDO_DIRECTORY, 'sudo'), join(bin, 'sudo'));
  chmodSync(join(bin, 'sudo'), 0o755);
  return bin;
}

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
