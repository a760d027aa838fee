#!/usr/bin/env bash
# Run every libFuzzer harness in BUILD_DIR for SECONDS each (make fuzz), then
# keep what it found: the inputs that add coverage are merged (libFuzzer
# -merge=1, minimised by coverage) into the committed corpus
# tests/fuzz/corpus/<name>/, so every build's fuzz_replay_<name> test replays
# them. Commit the new corpus files.
#
#   scripts/fuzz.sh BUILD_DIR [SECONDS] [NAME...]     (NAME: only these harnesses)
#   FUZZ_MERGE=0       do not touch the committed corpus (findings stay in
#                      BUILD_DIR/fuzz-work/<name>)
#   FUZZ_MAX_LEN=N     longest input libFuzzer generates (default 4096)
#
# A crash stops that harness with its input in BUILD_DIR/fuzz-artifacts/ and a
# non-zero exit. Fix the bug, then copy the input into the corpus folder (name it
# regress-<what>) so the replay test keeps it fixed.
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [NAME...]}
seconds=${2:-60}
shift $(($# >= 2 ? 2 : $#))
only=" $* "
merge=${FUZZ_MERGE:-1}
max_len=${FUZZ_MAX_LEN:-4096}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz-artifacts"
status=0
count() { find "$1" -maxdepth 1 -type f | wc -l; }
bytes() { du -sb "$1" | cut -f1; }
for bin in "$build"/tests/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin"); name=${name#fuzz_}
  [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || continue
  work="$build/fuzz-work/$name"; mkdir -p "$work"
  seeds="$root/tests/fuzz/corpus/$name"; mkdir -p "$seeds"
  log="$build/fuzz-work/$name.log"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-artifacts/$name-" "$work" "$seeds" > "$log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    kept=""
    if [ "$merge" = 1 ]; then
      before=$(count "$seeds"); size0=$(bytes "$seeds")
      # Only inputs that add coverage to what the committed corpus already reaches.
      "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "$seeds" "$work" >> "$log" 2>&1
      kept=", corpus $before -> $(count "$seeds") inputs ($size0 -> $(bytes "$seeds") bytes)"
    fi
    echo "fuzz $name: ${seconds}s, ${execs:-?} executions, no crash$kept"
  else
    echo "fuzz $name: FINDING (see $log and $build/fuzz-artifacts/)"; tail -30 "$log"; status=1
  fi
done
exit $status
