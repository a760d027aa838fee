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
"$BIN" shm "$NAME" --watch --seconds 2 > "$TMP/early" 2> "$TMP/early.err" &
EARLY=$!
sleep 0.3
"$BIN" demo --seconds 60 --shm "$NAME" > "$TMP/demo" 2>&1 &
DEMO=$!
i=0
while ! grep -q "shared memory /$NAME" "$TMP/demo" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "demo did not start: $(cat "$TMP/demo")"; sleep 0.1
done
sleep 0.5

wait "$EARLY" || fail "watcher started before the engine: $(cat "$TMP/early.err")"
grep -q "does not exist yet" "$TMP/early.err" || fail "early watcher did not wait: $(cat "$TMP/early.err")"
grep -q "engine pid $DEMO alive" "$TMP/early" || fail "early watcher never showed the segment: $(head -5 "$TMP/early")"

expect 0 "engine pid $DEMO alive" "$BIN" shm "$NAME"
grep -q "Level *REAL .* good" "$TMP/out" || fail "no good Level in the table: $(cat "$TMP/out")"
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

# --watch outlives its engine: the demo stops, watch says so and ends at --seconds.
"$BIN" shm "$NAME" --watch --seconds 3 > "$TMP/watch" 2> "$TMP/watch.err" &
WATCH=$!
sleep 0.5
kill -INT "$DEMO"
wait "$DEMO" || fail "demo did not stop cleanly on SIGINT: $(tail -3 "$TMP/demo")"
DEMO=
wait "$WATCH" || fail "watch failed: $(cat "$TMP/watch.err")"
grep -q "was closed by its engine" "$TMP/watch.err" || fail "watch did not notice the engine leaving: $(cat "$TMP/watch.err")"
[ -e "/dev/shm/$NAME" ] && fail "segment left behind"
echo "cli_shm: ok"
