#!/bin/sh
# Checks that `memtrace report FILE -o x.folded` folds DTrace ustack() aggregation output exactly as
# FlameGraph's stackcollapse.pl does, and times both. Reads the peers' copy in the shared directory
# (not part of the project: FlameGraph's files are never copied here).
# Usage: bench/dtrace-folded-equivalence.sh [FILE]; REPEAT=40 repeats FILE's stacks 40 times first.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
peers=${FLAMEGRAPH_DIR:-/work/shared/peers/flamegraph}
input=${1:-$peers/example-dtrace-stacks.txt}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "${REPEAT:-1}" -gt 1 ]; then
  # stackcollapse.pl skips the first 3 lines (the CPU/probe header): keep them once.
  head -3 "$input" > "$out/input.txt"
  i=0; while [ "$i" -lt "$REPEAT" ]; do tail -n +4 "$input" >> "$out/input.txt"; i=$((i + 1)); done
  input=$out/input.txt
fi
echo "input: $(wc -c < "$input") bytes"
/usr/bin/time -f "memtrace report:  %e s, max RSS %M KB" node "$here/bin/memtrace.js" report --input-format dtrace "$input" -o "$out/memtrace.folded" 2>&1 | grep -v '^memtrace: wrote'
/usr/bin/time -f "stackcollapse.pl: %e s, max RSS %M KB" perl "$peers/stackcollapse.pl" "$input" > "$out/stackcollapse.folded"
if cmp -s "$out/memtrace.folded" "$out/stackcollapse.folded"; then
  echo "same folded stacks: $(wc -l < "$out/memtrace.folded") lines"
else
  diff -u "$out/stackcollapse.folded" "$out/memtrace.folded" | head -40
  exit 1
fi
