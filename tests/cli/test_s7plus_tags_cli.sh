#!/bin/sh
# PLC tags by name from the command line: plcio sim s7 --tags FILE (a TIA export
# saved as CSV) browsed with plcio browse --tags, written by name over S7CommPlus and
# read at the absolute address over classic S7 (and back); unknown names; tag files
# the simulator refuses, each with the line that is wrong; the engine with a tag.
# usage: test_s7plus_tags_cli.sh PLCIO_BIN TAGS_FILE
set -u
BIN=$1
TAGS=$2
TMP=$(mktemp -d)
SRV=
SYNC=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; [ -n "$SYNC" ] && kill "$SYNC" 2>/dev/null; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

expect() { # expect STATUS PATTERN command...  (PATTERN searched in stdout+stderr)
  want=$1; pat=$2; shift 2
  "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
  [ "$got" = "$want" ] || fail "$* -> exit $got, wanted $want: $(cat "$TMP/out" "$TMP/err")"
  if [ -n "$pat" ]; then
    grep -q -- "$pat" "$TMP/out" "$TMP/err" || fail "$*: no '$pat' in: $(cat "$TMP/out" "$TMP/err")"
  fi
}

# bad tag files: refused at start with the line, exit 2, nothing listening
printf 'Start;%%I0.0;Bool\nSpeed;%%MW10;Real\n' > "$TMP/size.csv"
expect 2 "line 2: tag Speed" env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags "$TMP/size.csv"
printf 'Start;%%I0.0;Bool\n\nStop;%%I0.1\n' > "$TMP/fields.csv"
expect 2 "line 3: 2 fields" env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags "$TMP/fields.csv"
printf 'A;%%MW0;Int\nB;%%MW2;Widget\n' > "$TMP/type.csv"
expect 2 "line 2: tag B: unknown data type 'Widget'" \
  env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags "$TMP/type.csv"
printf 'A;%%MW0;Int\na;%%MW2;Int\n' > "$TMP/twice.csv"
expect 2 "defined twice" env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags "$TMP/twice.csv"
printf 'Far;%%MW300;Int\n' > "$TMP/far.csv"
expect 2 'tag "Far" at byte 300 of M is outside the area (256 bytes; --area M:302)' \
  env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags "$TMP/far.csv"
expect 2 "no/such.csv" env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --tags no/such.csv
expect 2 "S7CommPlus only" env PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 5 --no-s7plus --tags "$TAGS"

PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --seconds 120 --tags "$TAGS" > "$TMP/sim.out" 2>&1 &
SRV=$!
i=0
while ! grep -q listening "$TMP/sim.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "simulator did not start: $(cat "$TMP/sim.out")"; sleep 0.1
done
PORT=$(sed -n 's/^listening on 127.0.0.1://p' "$TMP/sim.out")
URL="s7plus://127.0.0.1:$PORT?insecure=1"

expect 0 "PLC tags: 10 tags" "$BIN" browse "$URL" --tags
grep -q '^  "Speed_SP"  *INT  *%MW10  *52\.A$' "$TMP/out" || fail "browse --tags: $(cat "$TMP/out")"
grep -q '^  "Motor_On"  *BOOL  *%Q4\.1  *51\.A$' "$TMP/out" || fail "browse --tags: $(cat "$TMP/out")"
grep -q '^  "Valve Pos"  *WORD  *%QW10  *51\.B$' "$TMP/out" || fail "browse --tags: $(cat "$TMP/out")"
expect 0 '{"name": "Start", "address": "%I0.0", "type": "BOOL", "lids": \[10\]}' "$BIN" browse "$URL" --tags --json
expect 2 "not both" "$BIN" browse "$URL" --tags Line

# written by name, read at the absolute address over classic S7, and back
expect 0 "" "$BIN" write "$URL" '"Speed_SP"=-1234' '"Temp"=21.5' '"Motor_On"=true' '"Valve Pos"=16#BEEF'
expect 0 'MW10:INT = -1234' "$BIN" read "s7://127.0.0.1:$PORT" MW10:INT
expect 0 'MD100:REAL = 21.5' "$BIN" read "s7://127.0.0.1:$PORT" MD100:REAL
expect 0 'Q4.1 = true' "$BIN" read "s7://127.0.0.1:$PORT" Q4.1
expect 0 'QW10 = 48879' "$BIN" read "s7://127.0.0.1:$PORT" QW10
expect 0 "" "$BIN" write "s7://127.0.0.1:$PORT" MW10:INT=4321 M30.3=true
expect 0 '{"\\"Speed_SP\\"": 4321, "\\"Ready\\"": true}' "$BIN" read "$URL" '"Speed_SP"' '"Ready"' --json
# unknown names and values that do not fit: one line that says what and why
expect 2 '"Nope": no such PLC tag' "$BIN" read "$URL" '"Nope"'
expect 2 "write \"Speed_SP\"" "$BIN" write "$URL" '"Speed_SP"=70000'

# the engine: a tag by name, its type from the PLC's browse
PLCIO_TEST_RUN=1 "$BIN" sync "$URL" --tag '"Temp"' --interval 50 --shm "plcio-tags-$$" > "$TMP/sync.out" 2>&1 &
SYNC=$!
i=0
until "$BIN" shm "plcio-tags-$$" --json > "$TMP/shm.json" 2>/dev/null && grep -q '21.5' "$TMP/shm.json"; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "sync: no \"Temp\" = 21.5: $(cat "$TMP/shm.json" "$TMP/sync.out")"; sleep 0.1
done
kill "$SYNC"; wait "$SYNC" 2>/dev/null; SYNC=
echo "ok"
