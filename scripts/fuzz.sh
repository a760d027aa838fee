#!/usr/bin/env bash
# Run every libFuzzer harness in BUILD_DIR for SECONDS each (make fuzz).
# Seeds come from tests/fuzz/corpus/<name>/ (read-only here); new inputs the fuzzer
# finds stay in BUILD_DIR/fuzz-work/<name>; a crash stops the run with its input
# in BUILD_DIR/fuzz-artifacts/ and a non-zero exit. Copy such an input into the
# corpus folder once fixed, so the replay test keeps it fixed.
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz-artifacts"
status=0
for bin in "$build"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  work="$build/fuzz-work/$name"; mkdir -p "$work"
  seeds="$root/tests/fuzz/corpus/$name"
  log="$build/fuzz-work/$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$seeds" > "$log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz $name: ${seconds}s, ${execs:-?} executions, no finding"
  else
    echo "fuzz $name: FINDING (see $log and $build/fuzz-artifacts/)"; tail -30 "$log"; status=1
  fi
done
exit $status
