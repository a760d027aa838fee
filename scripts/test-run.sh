#!/usr/bin/env bash
# Run ctest in a build folder and leave nothing behind, whether the suite passes, fails or
# is interrupted (Ctrl-C, SIGTERM):
#   - every process a test started and that is still alive afterwards (a peer, tshark or
#     dumpcap, a simulator a failed test did not stop) is found by a marker in its
#     environment (PLCIO_TEST_RUN, inherited from ctest) and stopped: SIGTERM, then SIGKILL;
#   - every shared-memory segment /dev/shm/plcio* created during the run whose engine is
#     gone (its engine lock, an OFD lock listed in /proc/locks, is not held) is removed, so
#     a live engine's segment (e.g. a `plcio demo` running beside the tests), and the
#     segments named after it, are kept; so is a segment any live process still has open
#     or mapped (a test of another run beside this one, between its engine and its reader).
# Leftovers are named on stderr: a test that leaves something behind has a bug to fix.
#
#   scripts/test-run.sh BUILD_DIR [CTEST_ARGS...]     exit status: ctest's
set -uo pipefail
build=$1; shift

marker="plcio-$$-$(date +%s%N)"
stamp=$(mktemp "${TMPDIR:-/tmp}/plcio-test-run.XXXXXX")

# Pids whose environment carries our marker (not this script: it never exports it).
marked_pids() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    grep -qszx "PLCIO_TEST_RUN=$marker" "$env" 2>/dev/null && echo "$pid"
  done
}

cleanup() {
  local pids pid left=0 f ino base locked inuse
  trap - EXIT INT TERM
  pids=$(marked_pids)
  if [ -n "$pids" ]; then
    for pid in $pids; do
      echo "test-run: stopping leftover process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120)" >&2
      left=$((left + 1))
    done
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(marked_pids)" ] && break
      sleep 0.2
    done
    pids=$(marked_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  fi
  # Inodes whose engine lock is held right now.
  locked=$(awk '$2 == "OFDLCK" { split($6, a, ":"); print a[3] }' /proc/locks 2>/dev/null)
  # Segments some live process has open or mapped (our own marked processes are gone now).
  inuse=$({ awk '$6 ~ /^\/dev\/shm\/plcio/ { print $6 }' /proc/[0-9]*/maps 2>/dev/null
    find /proc/[0-9]*/fd -lname '/dev/shm/plcio*' -printf '%l\n' 2>/dev/null; } | sort -u)
  for f in /dev/shm/plcio*; do
    [ -f "$f" ] && [ "$f" -nt "$stamp" ] || continue
    ino=$(stat -c %i "$f" 2>/dev/null) || continue
    grep -qx "$ino" <<<"$locked" && continue
    grep -qxF "$f" <<<"$inuse" && continue
    # A segment named after a live engine's (its write ring, say) stays with it.
    for base in /dev/shm/plcio*; do
      [ "$base" != "$f" ] && [ "${f#"$base"}" != "$f" ] &&
        grep -qx "$(stat -c %i "$base" 2>/dev/null)" <<<"$locked" && continue 2
    done
    echo "test-run: removing leftover shared-memory segment $f" >&2
    rm -f "$f"
    left=$((left + 1))
  done
  rm -f "$stamp"
  [ "$left" -eq 0 ] || echo "test-run: $left leftover(s) removed: a test did not clean up after itself" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log=$(mktemp "${TMPDIR:-/tmp}/plcio-test-log.XXXXXX")
(cd "$build" && PLCIO_TEST_RUN=$marker ctest --no-tests=error "$@") | tee "$log"
rc=${PIPESTATUS[0]}
# ctest shows no output of a skipped test: print why each one skipped.
for name in $(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (Skipped)$/\1/p' "$log"); do
  why=$(awk -v t="$name" '$2 == "Testing:" && $3 == t { on = 1; next }
    on && /^<end of output>/ { exit } on && out { print } on && /^----------/ { out = 1 }' \
    "$build/Testing/Temporary/LastTest.log" 2>/dev/null | tail -n 3)
  echo "test-run: $name skipped: ${why:-no reason printed}"
done
rm -f "$log"
exit "$rc"
