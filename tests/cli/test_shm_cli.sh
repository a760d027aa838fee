#!/bin/sh
# plcio shm against a live `plcio demo`: the table and the JSON rendition,
# writes by name (done, unknown tag, bad value, out of range), --watch
# following updates and surviving the engine's exit, and garbage or truncated
# segments refused with a clear message.
# usage: test_shm_cli.sh PLCIO_BIN
set -u
BIN=$1
TMP=$(mktemp -d)
DEMO=
NAME="plcio-cli-shm-$$"
EARLY=
WATCH=
cleanup() {
  for p in $DEMO $EARLY $WATCH; do kill "$p" 2>/dev/null; done
  rm -f "/dev/shm/$NAME-garbage" "/dev/shm/$NAME-empty"
  rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

# ---- usage and missing segments ----
expect 2 "which segment" "$BIN" shm
expect 2 "unknown option '--bogus'; valid options: " "$BIN" shm x --bogus
expect 2 "is not TAG=VALUE" "$BIN" shm x --write novalue
expect 2 "does not combine" "$BIN" shm x --write a=1 --watch
expect 2 "--interval 'x'" "$BIN" shm x --watch --interval x
expect 2 "not a segment name" "$BIN" shm a/b
expect 1 "no shared memory segment /$NAME-none" "$BIN" shm "$NAME-none"

# ---- segments that are not ours: refused, no crash ----
head -c 65536 /dev/urandom > "/dev/shm/$NAME-garbage"
expect 1 "$NAME-garbage" "$BIN" shm "$NAME-garbage"
: > "/dev/shm/$NAME-empty"
expect 1 "$NAME-empty" "$BIN" shm "$NAME-empty" --json

# ---- a live engine: the demo, with a watcher started before it ----
expect 1 "did not appear within 0.5 s" "$BIN" shm "$NAME" --watch --seconds 0.5
# (events, not time: the watcher has found no segment before the demo starts, and is
# stopped once it showed the segment; SIGINT ends --watch with status 0)
"$BIN" shm "$NAME" --watch --seconds 120 > "$TMP/early" 2> "$TMP/early.err" &
EARLY=$!
wait_grep "$TMP/early.err" "does not exist yet" "early watcher did not wait"
"$BIN" demo --seconds 120 --shm "$NAME" > "$TMP/demo" 2>&1 &
DEMO=$!
wait_grep "$TMP/demo" "shared memory /$NAME" "demo did not start"
wait_grep "$TMP/early" "engine pid $DEMO alive" "early watcher never showed the segment"
kill -INT "$EARLY"
wait "$EARLY" || fail "watcher started before the engine: $(cat "$TMP/early.err")"
EARLY=

# the first cycle's values: polled (the segment exists before the first read is done)
i=0
until "$BIN" shm "$NAME" > "$TMP/out" 2>&1 && grep -q "Level *REAL .* good" "$TMP/out"; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "no good Level in the table: $(cat "$TMP/out")"; sleep 0.1
done
grep -q "engine pid $DEMO alive" "$TMP/out" || fail "table header: $(cat "$TMP/out")"
grep -q "Cycles *DINT" "$TMP/out" || fail "no Cycles in the table: $(cat "$TMP/out")"

expect 0 "" "$BIN" shm "/$NAME" --json
/usr/bin/python3 - "$TMP/out" <<'PY' || fail "JSON rendition: $(cat "$TMP/out")"
import json, sys
doc = json.load(open(sys.argv[1]))
tags = doc["tags"]
assert doc["generation"] > 0, doc
assert tags["Level"]["quality"] == "good" and isinstance(tags["Level"]["value"], float), tags["Level"]
assert isinstance(tags["Pump"]["value"], bool), tags["Pump"]
PY

# Writes by name: take the tank out of automatic, switch the pump on, the valve off.
expect 0 "Auto=false: done" "$BIN" shm "$NAME" --write Auto=false --write Pump=true --write Valve=false
grep -q "Pump=true: done" "$TMP/out" || fail "pump write: $(cat "$TMP/out")"
# The engine reads the PLC back: the new values come from the simulator, not from us.
i=0
while :; do
  "$BIN" shm "$NAME" --json > "$TMP/json" 2>&1
  /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["tags"]
sys.exit(0 if (t["Auto"]["value"], t["Pump"]["value"], t["Valve"]["value"]) == (False, True, False) else 1)' "$TMP/json" && break
  i=$((i + 1)); [ $i -gt 50 ] && fail "writes not seen in the PLC: $(cat "$TMP/json")"; sleep 0.1
done

expect 1 "has no such tag" "$BIN" shm "$NAME" --write Nope=1
expect 1 "FAILED" "$BIN" shm "$NAME" --write Level=abc
grep -q "syntax" "$TMP/out" || fail "bad value reason: $(cat "$TMP/out")"
expect 1 "FAILED" "$BIN" shm "$NAME" --write Cycles=99999999999
grep -qi "range" "$TMP/out" || fail "out-of-range reason: $(cat "$TMP/out")"
# A failed write among good ones: the good one still lands, the exit status says failure.
expect 1 "Valve=true: done" "$BIN" shm "$NAME" --write Valve=true --write Level=abc

# --watch --json: one rendition per update, no more often than --interval.
expect 0 "" "$BIN" shm "$NAME" --watch --json --interval 200 --seconds 1.1
n=$(wc -l < "$TMP/out")
[ "$n" -ge 3 ] && [ "$n" -le 8 ] || fail "--watch printed $n renditions in 1.1 s at 200 ms: $(head -c 300 "$TMP/out")"
/usr/bin/python3 -c '
import json, sys
gens = [json.loads(l)["generation"] for l in open(sys.argv[1])]
assert gens == sorted(gens) and len(set(gens)) == len(gens), gens' "$TMP/out" || fail "generations not increasing"

# --watch outlives its engine: the demo stops, watch says so and waits for a new one
# (until SIGINT here: events, not time).
"$BIN" shm "$NAME" --watch --seconds 120 > "$TMP/watch" 2> "$TMP/watch.err" &
WATCH=$!
wait_grep "$TMP/watch" "engine pid $DEMO alive" "watch did not attach"
kill -INT "$DEMO"
wait "$DEMO" || fail "demo did not stop cleanly on SIGINT: $(tail -3 "$TMP/demo")"
DEMO=
wait_grep "$TMP/watch.err" "was closed by its engine" "watch did not notice the engine leaving"
kill -0 "$WATCH" 2>/dev/null || fail "watch ended with its engine: $(cat "$TMP/watch.err")"
kill -INT "$WATCH"
wait "$WATCH" || fail "watch failed: $(cat "$TMP/watch.err")"
WATCH=
[ -e "/dev/shm/$NAME" ] && fail "segment left behind"
echo "cli_shm: ok"
