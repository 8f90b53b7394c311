# bench/lib/malloc-loop.sh: the pieces every overhead bench on test/workloads/malloc-loop.c shares
# (bench/malloc-overhead, bench/malloc-dwarf-overhead, bench/dtrace-malloc-overhead). Sourced, not run;
# the caller is at the repository root, has built dist/ (npm run build), and keeps its timings in an
# associative array named `result` (row name → loop seconds).

# Builds the loop into $1 with the given compiler flags (the frame-pointer choice differs by bench).
build_malloc_loop() {
  local out=$1; shift
  mkdir -p "$(dirname "$out")"
  gcc -O2 -fno-builtin "$@" -o "$out" test/workloads/malloc-loop.c
}

# The libc node itself maps: the one every dynamically linked program here uses.
system_libc() {
  node -e "console.log(require('fs').readFileSync('/proc/self/maps','utf8').split('\n').map(l=>l.slice(l.indexOf('/'))).find(p=>/\/libc\.so\.6$/.test(p)))"
}

# The byte offset of free's body past its NULL test in libc $1 (glibc's free starts `test %rdi,%rdi`,
# which a uprobe must single-step; the body starts on an emulated instruction), or empty.
free_body_offset() {
  node --input-type=module -e "
    import { readElf } from './dist/symbols/elf.js';
    import { findFreeBody } from './dist/symbols/elf-alias.js';
    console.log((await findFreeBody(await readElf('$1')))?.bodyOffset ?? '')"
}

# The loop's own timing (it times only its loop, so tracer start-up is not counted).
loop_seconds() { grep -o 'loop_seconds [0-9.]*' | tail -1 | cut -d' ' -f2; }

# The median of the numbers given (empty ones dropped): the machines are shared and noisy.
median() {
  printf '%s\n' "$@" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# Prints one row per name: loop seconds, µs per malloc+free pair, ratio to the untraced loop ($2) and
# to the floor ($3); $1 is the iteration count. A name without a result prints n/a.
overhead_table() {
  local iterations=$1 base=$2 floor=$3; shift 3
  local width=4 name
  for name in "$@"; do [ ${#name} -gt "$width" ] && width=${#name}; done
  printf "%-${width}s %10s %12s %12s %10s\n" 'run' 'loop (s)' 'us per pair' 'vs untraced' 'vs floor'
  for name in "$@"; do
    local value=${result[$name]:-}
    if [ -z "$value" ]; then printf "%-${width}s %10s\n" "$name" 'n/a'; continue; fi
    awk -v w="$width" -v n="$name" -v v="$value" -v b="$base" -v f="$floor" -v i="$iterations" \
      'BEGIN { printf "%-*s %10.4f %12.2f %11.1fx %9.2fx\n", w, n, v, v * 1e6 / i, v / b, v / f }'
  done
}
