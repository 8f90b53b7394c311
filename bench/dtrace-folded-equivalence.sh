#!/bin/sh
# Checks that `memtrace report FILE -o x.folded` folds DTrace ustack() aggregation output exactly as
# FlameGraph's stackcollapse.pl does. Reads the peers' copy in the shared directory (not part of
# the project: FlameGraph's files are never copied here). Usage: bench/dtrace-folded-equivalence.sh [FILE]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
peers=${FLAMEGRAPH_DIR:-/work/shared/peers/flamegraph}
input=${1:-$peers/example-dtrace-stacks.txt}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node "$here/bin/memtrace.js" report --input-format dtrace "$input" -o "$out/memtrace.folded" 2>/dev/null
perl "$peers/stackcollapse.pl" "$input" > "$out/stackcollapse.folded"
if cmp -s "$out/memtrace.folded" "$out/stackcollapse.folded"; then
  echo "same folded stacks: $(wc -l < "$out/memtrace.folded") lines"
else
  diff -u "$out/stackcollapse.folded" "$out/memtrace.folded" | head -40
  exit 1
fi
