#!/usr/bin/env bash
# Builds (once) a Debian 13 root file system holding Debian 13's bpftrace, and writes DIR/bpftrace:
# a wrapper that runs that bpftrace on this machine, with the root's own loader and libraries.
#   bash test/compat/build-root.sh DIR      (root; Debian's packages reachable; ~30 s and ~550 MB)
# Why the loader and not chroot: a probe names the traced program's files (/usr/lib/…/libc.so.6,
# /usr/bin/node, a workload under the project): inside a chroot those paths are the root's own
# files, not the host's, so the probes would sit on the wrong inodes. Run through the root's loader,
# bpftrace 0.23 uses its own libraries (libbpf, LLVM 19) and sees the host's files, /proc and tracefs.
set -euo pipefail
root=${1:?usage: build-root.sh DIR}
mkdir -p "$root"
root=$(cd "$root" && pwd)
if [ ! -x "$root/usr/bin/bpftrace" ]; then
  command -v debootstrap > /dev/null || apt-get install -y -qq debootstrap > /dev/null
  debootstrap --variant=minbase --include=bpftrace trixie "$root" > "$root.debootstrap.log" 2>&1 ||
    { tail -20 "$root.debootstrap.log" >&2; exit 1; }
fi
cat > "$root/bpftrace" <<WRAPPER
#!/bin/sh
# Debian 13's bpftrace from $root, run with that root's loader and libraries (test/compat/build-root.sh).
exec "$root/lib64/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/bpftrace" "\$@"
WRAPPER
chmod 755 "$root/bpftrace"
"$root/bpftrace" --version
