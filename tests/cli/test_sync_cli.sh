#!/bin/sh
# plcio sync / plcio demo: usage errors, the one-liner against plcio sim s7, a
# second engine on the same segment refused, clean shutdown on SIGINT (segment
# removed), and the demo end to end.
# usage: test_sync_cli.sh PLCIO_BIN FIXTURES_DIR
set -u
BIN=$1
FIX=$2
TMP=$(mktemp -d)
SIM=
MBSIM=
ENG=
DEMOPID=
cleanup() {
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null; [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$MBSIM" ] && kill "$MBSIM" 2>/dev/null
  [ -n "$DEMOPID" ] && kill "$DEMOPID" 2>/dev/null; rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"
# wait_ready NAME LOG: until the engine logging into LOG has its segment NAME ready (a
# reader opens it): created, locked, its header (engine pid) written, both objects' modes
# and group set. The file merely existing is not that: the engine creates it first.
wait_ready() {
  _wr=0
  until "$BIN" shm "$1" > /dev/null 2>&1; do
    _wr=$((_wr + 1)); [ $_wr -gt 300 ] && fail "segment $1 never ready: $(cat "$2")"; sleep 0.1
  done
}

# ---- usage ----
expect 2 "give either --config FILE or a device URL" "$BIN" sync
expect 2 "needs --db N" "$BIN" sync s7://127.0.0.1:1
expect 2 "unknown option '--bogus'; valid options: " "$BIN" sync s7://127.0.0.1:1 --db 1 --bogus
expect 2 "--seconds 'x'" "$BIN" sync s7://127.0.0.1:1 --db 1 --seconds x
expect 2 "No such file" "$BIN" sync --config "$TMP/missing.yaml"
printf 'devices:\n  - url: s7://h\n    groups: [{db: 0}]\n' > "$TMP/bad.yaml"
expect 2 "bad.yaml:3:19: db 0 is out of range" "$BIN" sync --config "$TMP/bad.yaml"
expect 1 "DB 5 needs a layout file" "$BIN" sync s7://127.0.0.1:1 --db 5 --seconds 1
expect 1 "opcua" "$BIN" sync opcua://h --db 5 --layout "$FIX/layouts/test_db.db" --seconds 1
expect 2 "unknown option '--nope'" "$BIN" demo --nope
expect 2 "--seconds '0'" "$BIN" demo --seconds 0

# ---- a device that is not there: the engine keeps trying and says why ----
expect 0 "DOWN" "$BIN" sync s7://127.0.0.1:1 --db 1 --layout "$FIX/layouts/test_db.db" --seconds 1 --stats 500 --shm "plcio-cli-down-$$"

# ---- who may read and write the segment: modes checked, set exactly (whatever the umask) ----
L="$FIX/layouts/test_db.db"
expect 2 "--shm-mode '0999' is not an octal mode" "$BIN" sync s7://127.0.0.1:1 --db 1 --layout "$L" --shm-mode 0999
expect 2 "--shm-write-mode '0400' is not an octal mode from 0600" "$BIN" sync s7://127.0.0.1:1 --db 1 --layout "$L" --shm-write-mode 0400
expect 1 "no group named 'no-such-group-plcio'" "$BIN" sync s7://127.0.0.1:1 --db 1 --layout "$L" --seconds 1 \
  --shm-group no-such-group-plcio --shm "plcio-cli-grp-$$"
# modes NAME DATA RING UMASK [sync options...]: the engine's two objects get exactly these modes
modes() {
  local name=$1 data=$2 ring=$3 mask=$4 i=0
  shift 4
  (umask "$mask"; exec "$BIN" sync s7://127.0.0.1:1 --db 1 --layout "$L" --seconds 120 --quiet --shm "$name" "$@") \
    > "$TMP/modes" 2>&1 &
  DEMOPID=$!
  wait_ready "$name" "$TMP/modes"
  [ "$(stat -c %a "/dev/shm/$name")" = "$data" ] || fail "$name: data segment mode $(stat -c %a "/dev/shm/$name"), want $data (umask $mask, $*)"
  [ "$(stat -c %a "/dev/shm/$name.ring")" = "$ring" ] || fail "$name: ring mode $(stat -c %a "/dev/shm/$name.ring"), want $ring (umask $mask, $*)"
  kill -INT "$DEMOPID"
  wait "$DEMOPID" || fail "$name: engine exit status $? after SIGINT: $(cat "$TMP/modes")"
  DEMOPID=
  [ -e "/dev/shm/$name" ] && fail "segment /dev/shm/$name left behind after a clean exit"
  return 0
}
modes "plcio-cli-modes-$$" 640 600 000
modes "plcio-cli-modes2-$$" 660 620 077 --shm-mode 0660 --shm-write-mode 0620 --shm-group "$(id -gn)"

# ---- the one-liner against the simulator, with the layout's start values ----
"$BIN" sim s7 --listen 127.0.0.1:0 --db "7:$FIX/layouts/test_db.db" --seconds 60 > "$TMP/sim" 2>&1 &
SIM=$!
i=0
while ! grep -q "listening on" "$TMP/sim" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "simulator did not start: $(cat "$TMP/sim")"; sleep 0.1
done
PORT=$(grep "listening on" "$TMP/sim" | sed 's/.*://')
URL="s7://127.0.0.1:$PORT?rack=0&slot=1"
NAME="plcio-cli-sync-$$"
expect 0 "group db7" "$BIN" sync "$URL" --db 7 --layout "$FIX/layouts/test_db.db" --interval 20 --seconds 1.5 --stats 500 --shm "$NAME"
grep -q "connected" "$TMP/out" || fail "not connected: $(cat "$TMP/out")"
grep -q "cycles/s" "$TMP/out" || fail "no statistics: $(cat "$TMP/out")"
grep -q "errors 0" "$TMP/out" || fail "errors: $(cat "$TMP/out")"
[ -e "/dev/shm/$NAME" ] && fail "segment /dev/shm/$NAME left behind after a clean exit"

# A second engine on the same segment is refused while the first runs.
"$BIN" sync "$URL" --db 7 --layout "$FIX/layouts/test_db.db" --shm "$NAME" --quiet > "$TMP/eng" 2>&1 &
ENG=$!
wait_ready "$NAME" "$TMP/eng"
expect 1 "in use by engine pid $ENG" "$BIN" sync "$URL" --db 7 --layout "$FIX/layouts/test_db.db" --shm "$NAME" --seconds 1
# SIGINT: a clean stop, exit 0, segment removed.
kill -INT "$ENG"
wait "$ENG"; st=$?
ENG=
[ "$st" = 0 ] || fail "engine exit status $st after SIGINT: $(cat "$TMP/eng")"
[ -e "/dev/shm/$NAME" ] && fail "segment left behind after SIGINT"

# An engine killed with SIGKILL leaves its segment; the next one on the same name replaces it.
"$BIN" sync "$URL" --db 7 --layout "$FIX/layouts/test_db.db" --shm "$NAME" --quiet > "$TMP/eng" 2>&1 &
ENG=$!
wait_ready "$NAME" "$TMP/eng"
kill -9 "$ENG"; wait "$ENG" 2>/dev/null
[ -e "/dev/shm/$NAME" ] || fail "a killed engine's segment vanished (nothing to recover from?)"
ENG=
expect 0 "group db7" "$BIN" sync "$URL" --db 7 --layout "$FIX/layouts/test_db.db" --shm "$NAME" --seconds 1 --stats 500
grep -q "replaced the segment /$NAME left by engine pid" "$TMP/err" || fail "stale segment not reported as replaced: $(cat "$TMP/err")"
[ -e "/dev/shm/$NAME" ] && fail "segment left behind after the restarted engine exited"

# ---- array tags on the command line (as plcio read takes them): one tag per element ----
# arrays NAME URL CHECK TAG...: run the engine on TAG..., wait until the segment
# has every tag good, then CHECK (Python, the JSON rendition on stdin) must pass.
arrays() {
  local name=$1 url=$2 check=$3 i=0
  shift 3
  "$BIN" sync "$url" --shm "$name" --seconds 20 --quiet "$@" > "$TMP/arr" 2>&1 &
  ENG=$!
  while :; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "array tags never all good: $(cat "$TMP/arr"; "$BIN" shm "$name" --json 2>&1)"
    if "$BIN" shm "$name" --json > "$TMP/arrjson" 2>/dev/null &&
      python3 -c 'import json,sys; t=json.load(sys.stdin)["tags"]; sys.exit(not t or any(v["quality"] != "good" for v in t.values()))' < "$TMP/arrjson"; then
      break
    fi
    sleep 0.1
  done
  python3 -c "import json,sys; t={k: v['value'] for k, v in json.load(sys.stdin)['tags'].items()}; $check" < "$TMP/arrjson" ||
    fail "array tags: $(cat "$TMP/arrjson")"
  kill -INT "$ENG"; wait "$ENG"; ENG=
}
"$BIN" write "$URL" "DB1.DBW40[3]=11,12,13" "DB1.DBX50.6[4]=1,1,0,1" > "$TMP/out" 2>&1 || fail "S7 array write: $(cat "$TMP/out")"
arrays "plcio-cli-arr7-$$" "$URL" \
  "assert t == {'DB1.DBW40[0]': 11, 'DB1.DBW40[1]': 12, 'DB1.DBW40[2]': 13, 'DB1.DBX50.6[0]': True, 'DB1.DBX50.6[1]': True, 'DB1.DBX50.6[2]': False, 'DB1.DBX50.6[3]': True, 'DB1.DBD8:REAL': t['DB1.DBD8:REAL']}, t" \
  --tag "DB1.DBW40[3]" --tag "DB1.DBX50.6[4]" --tag "DB1.DBD8:REAL"
"$BIN" sim modbus --listen 127.0.0.1:0 --seconds 60 > "$TMP/simmb" 2>&1 &
MBSIM=$!
wait_listen "$TMP/simmb"
MBURL="modbus-tcp://127.0.0.1:$(grep -o 'listening on [0-9.:]*' "$TMP/simmb" | sed 's/.*://')"
"$BIN" write "$MBURL" "hr0[4]=5,6,7,8" "co3[3]=1,0,1" "hr20:REAL[2]=1.5,-2.25" > "$TMP/out" 2>&1 || fail "Modbus array write: $(cat "$TMP/out")"
arrays "plcio-cli-arrmb-$$" "$MBURL" \
  "assert t == {'hr0[0]': 5, 'hr0[1]': 6, 'hr0[2]': 7, 'hr0[3]': 8, 'co3[0]': True, 'co3[1]': False, 'co3[2]': True, 'hr20:REAL[0]': 1.5, 'hr20:REAL[1]': -2.25}, t" \
  --tag "hr0[4]" --tag "co3[3]" --tag "hr20:REAL[2]"
# a bad array is refused with the reason, as plcio read refuses it
expect 1 "hr65535" "$BIN" sync "$MBURL" --tag "hr65535[4]" --seconds 1 --shm "plcio-cli-arrbad-$$"
kill "$MBSIM"; wait "$MBSIM" 2>/dev/null; MBSIM=

# ---- the demo ----
DEMO="plcio-cli-demo-$$"
expect 0 "stopped cleanly" "$BIN" demo --seconds 2 --shm "$DEMO"
grep -q "Level" "$TMP/out" || fail "demo shows no Level: $(cat "$TMP/out")"
grep -q "good" "$TMP/out" || fail "demo values not good: $(cat "$TMP/out")"
grep -q "plcio_shm_reader_new(\"/$DEMO\"" "$TMP/out" || fail "demo does not say how to attach: $(cat "$TMP/out")"
# not a terminal: how to attach is said once, and a run with --seconds does not ask for Ctrl-C
[ "$(grep -c "Attach from Python" "$TMP/out")" = 1 ] || fail "demo repeats its attach banner: $(cat "$TMP/out")"
grep -q "Ctrl-C" "$TMP/out" && fail "demo --seconds says Ctrl-C ends it: $(cat "$TMP/out")"
[ -e "/dev/shm/$DEMO" ] && fail "demo left its segment behind"
# The Python attach line the demo prints works as printed, while the demo runs.
# (long enough for a slow python3 start under load; stopped below)
"$BIN" demo --seconds 60 --shm "$DEMO" > "$TMP/demo2" 2>&1 &
DEMOPID=$!
i=0
while ! grep -q "Attach from Python" "$TMP/demo2" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "demo did not print the Python attach line: $(cat "$TMP/demo2")"; sleep 0.1
done
# the first cycle's values in the segment (polled: the line is printed before the first read)
i=0
until "$BIN" shm "$DEMO" > "$TMP/table" 2>&1 && grep -q "Level *REAL .* good" "$TMP/table"; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "demo: no good Level: $(cat "$TMP/table")"; sleep 0.1
done
LINE=$(grep "Attach from Python: " "$TMP/demo2" | sed 's/^Attach from Python: //')
sh -c "$LINE" > "$TMP/py" 2>&1 || fail "the printed Python line failed: $LINE: $(cat "$TMP/py")"
grep -q "'Level': " "$TMP/py" || fail "the Python line read no Level: $(cat "$TMP/py")"
kill -INT "$DEMOPID"
wait "$DEMOPID" || fail "second demo run failed: $(tail -3 "$TMP/demo2")"
DEMOPID=
echo "cli_sync: all checks passed"
