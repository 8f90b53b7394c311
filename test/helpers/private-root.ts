// A fake private bpftrace root, as `memtrace setup-bpftrace` leaves one, without debootstrap: the
// marker, the root's bpftrace (an empty file) and a loader that answers as bpftrace 0.27 would.
// The wrapper memtrace writes execs the loader, so the whole path wrapper → loader is exercised.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MARKER_NAME } from '../../src/run/private-bpftrace.js';

/** A loader that prints its arguments one per line, in <>, after --library-path PATHS BPFTRACE. */
export const ECHO_LOADER = `#!/bin/sh
shift 3
case "$1" in
  --version) echo "bpftrace v0.27.0" ;;
  --info) printf 'Build\\n  dwunwind (DWARF stack unwinding): yes\\n  bfd: yes\\n' ;;
  --help) echo "usage: bpftrace" ;;
  *) printf '<%s>\\n' "$@" ;;
esac
`;

export function makeFakeRoot(dir: string, marker: { complete?: boolean; suite?: string; packages?: string[] } = {}): void {
  for (const loader of ['lib64/ld-linux-x86-64.so.2', 'lib/ld-linux-aarch64.so.1']) {
    mkdirSync(dirname(join(dir, loader)), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, loader), ECHO_LOADER);
    chmodSync(join(dir, loader), 0o755);
  }
  mkdirSync(join(dir, 'usr/bin'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'usr/bin/bpftrace'), '');
  const content = {
    madeBy: 'memtrace setup-bpftrace',
    suite: marker.suite ?? 'forky',
    packages: marker.packages ?? ['bpftrace'],
    mirror: 'http://deb.debian.org/debian',
    complete: marker.complete ?? true,
  };
  writeFileSync(join(dir, MARKER_NAME), JSON.stringify(content), { mode: 0o644 });
}
