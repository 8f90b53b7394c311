#!/usr/bin/env bash
# Runs every live tracing test (the files that use liveTest) and the compat tests against the
# bpftrace given, as memtrace's MEMTRACE_BPFTRACE: the second leg of the version matrix in CI.
#   bash test/compat/run-live.sh PATH-OF-BPFTRACE EXPECTED-FEATURES   (after npm run build)
set -euo pipefail
cd "$(dirname "$0")/../.."
export MEMTRACE_BPFTRACE=${1:?usage: run-live.sh PATH-OF-BPFTRACE EXPECTED-FEATURES}
export MEMTRACE_COMPAT_EXPECT=${2-}
mapfile -t files < <(grep -rl --include='*.test.ts' -e 'liveTest' -e 'LIVE_BPFTRACE' test | sort)
echo "memtrace compat: ${#files[@]} live test files with $("$MEMTRACE_BPFTRACE" --version)"
# As npm test does (test/suites.mjs): the files that may run two at a time, then the rest alone.
mapfile -t paired < <(node -e 'import("./test/suites.mjs").then((suites) => console.log(suites.PAIRED.join("\n")))')
together=() alone=()
for file in "${files[@]}"; do
  if printf '%s\n' "${paired[@]}" | grep -qxF "$file"; then together+=("$file"); else alone+=("$file"); fi
done
# Never ava without files: it would run every test file there is.
if ((${#together[@]})); then npx ava --concurrency 2 "${together[@]}"; fi
if ((${#alone[@]})); then npx ava "${alone[@]}"; fi
