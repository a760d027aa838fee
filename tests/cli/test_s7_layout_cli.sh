#!/bin/sh
# plcio read/write/watch with --layout FILE and member names (Motor.Speed,
# Recipe[3].Temp): offsets from the layout, values, BOOL bit writes that leave
# the neighbour bits alone, struct/array expansion, --json keys, --db, errors.
# usage: test_s7_layout_cli.sh PLCIO_BIN FIXTURES_DIR INTEROP_DIR
set -u
BIN=$1
FIX=$2/layouts
DIR=$3
TMP=$(mktemp -d)
SRV=
# Every path (a failure, an error of the shell, ctest's timeout) stops the server.
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

# STEP 7 classic source: the DB number (12) comes from the source itself
cat > "$TMP/db12.db" <<'DB'
DATA_BLOCK DB 12
TITLE = line station
STRUCT
  Motor : STRUCT
    Speed : REAL := 1.5;
    Run : BOOL;
    Fault : BOOL := TRUE;
  END_STRUCT;
  Recipe : ARRAY [1 .. 4] OF STRUCT
    Temp : INT;
    Name : STRING [5];
  END_STRUCT;
  Flags : ARRAY [0 .. 9] OF BOOL;
  Count : DINT;
END_STRUCT;
BEGIN
  Recipe[3].Temp := 42;
  Count := 7;
END_DATA_BLOCK
DB
printf 'DATA_BLOCK "bad"\n{ S7_Optimized_Access := '"'"'FALSE'"'"' }\nSTRUCT\n  a : Flurb;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n' \
  > "$TMP/bad.db"

X=$FIX/seed_db_data_exchange.db   # TIA "Copy as text", no DB number: --db 10
L12=$TMP/db12.db
"$BIN" sim s7 --listen 127.0.0.1:0 --db "10:$X" --db "12:$L12" --seconds 90 > "$TMP/sim" 2>&1 &
SRV=$!
wait_listen "$TMP/sim"
U="s7://$(sed -n 's/.*listening on //p' "$TMP/sim")"

# values land at the offsets TIA printed (SOURCES.md): Tank_level 28, Release_valve 8, word_data4 26
expect 0 "" "$BIN" write "$U" Tank_level=1450.5 Release_valve=-3 word_data4=65535 --layout "$X" --db 10
expect 0 "DB10.DBD28:REAL = 1450.5" "$BIN" read "$U" DB10.DBD28:REAL DB10.DBW8:INT DB10.DBW26
expect 0 "DB10.DBW8:INT = -3" "$BIN" read "$U" DB10.DBD28:REAL DB10.DBW8:INT DB10.DBW26
expect 0 "DB10.DBW26 = 65535" "$BIN" read "$U" DB10.DBD28:REAL DB10.DBW8:INT DB10.DBW26
# BOOL members are bit writes: set both bytes to 0xFF, clear bool_data9 (1.1), set Power_ON (0.1)
expect 0 "" "$BIN" write "$U" DB10.DBB0=0 DB10.DBB1=255
expect 0 "" "$BIN" write "$U" bool_data9=false Power_ON=true --layout "$X" --db 10
expect 0 '{"DB10.DBB0": 2, "DB10.DBB1": 253}' "$BIN" read "$U" DB10.DBB0 DB10.DBB1 --json
# JSON keyed by the names as given (case kept), mixed with an absolute address
expect 0 '{"tank_level": 1450.5, "Power_ON": true, "bool_data9": false, "bool_data8": true, "DB10.DBW8:INT": -3}' \
  "$BIN" read "$U" tank_level Power_ON bool_data9 bool_data8 DB10.DBW8:INT --layout "$X" --db 10 --json
expect 0 "Release_valve = -3" "$BIN" read "$U" Release_valve --layout "$X" --db 10

# number from the source (DATA_BLOCK DB 12), start values from sim, struct and array expansion
expect 0 '{"Motor.Speed": 1.5, "Recipe\[3\].Temp": 42, "Count": 7}' \
  "$BIN" read "$U" Motor.Speed "Recipe[3].Temp" Count --layout "$L12" --json
expect 0 "" "$BIN" write "$U" Motor.Speed=-2.25 Motor.Run=true "Recipe[2].Name=a=b" "Flags[9]=true" --layout "$L12"
expect 0 "" "$BIN" read "$U" Motor "Recipe[2]" Flags --layout "$L12"
printf '%s\n' "Motor.Speed = -2.25" "Motor.Run = true" "Motor.Fault = true" "Recipe[2].Temp = 0" "Recipe[2].Name = a=b" \
  "Flags[0] = false" "Flags[1] = false" "Flags[2] = false" "Flags[3] = false" "Flags[4] = false" "Flags[5] = false" \
  "Flags[6] = false" "Flags[7] = false" "Flags[8] = false" "Flags[9] = true" > "$TMP/want"
cmp -s "$TMP/out" "$TMP/want" || fail "struct/array expansion: $(cat "$TMP/out")"
# Motor.Fault (4.1) untouched by the Motor.Run (4.0) write; Flags[9] is 47.1
expect 0 '{"DB12.DBB4": 3, "DB12.DBB47": 2}' "$BIN" read "$U" DB12.DBB4 DB12.DBB47 --json
expect 0 '"Recipe\[2\].Name": "a=b"' "$BIN" read "$U" "Recipe[2]" --layout "$L12" --json

# several layouts: --db NAME=N for the one without a number, DBNAME.member when needed
expect 0 '{"Tank_level": 1450.5, "motor.speed": -2.25, "DB_data_exchange.Power_ON": true}' \
  "$BIN" read "$U" Tank_level motor.speed DB_data_exchange.Power_ON --layout "$X" --layout "$L12" \
  --db DB_data_exchange=10 --json
# the table copy of the same DB: a name in both blocks must be qualified
T=$FIX/seed_db_data_exchange_tablecopy.tsv
expect 2 "member 'Tank_level' is in several data blocks" "$BIN" read "$U" Tank_level --layout "$X" --layout "$T" \
  --db DB_data_exchange=10 --db seed_db_data_exchange_tablecopy=10
expect 0 '{"seed_db_data_exchange_tablecopy.Tank_level": 1450.5, "\\"DB_data_exchange\\".Release_valve": -3}' \
  "$BIN" read "$U" seed_db_data_exchange_tablecopy.Tank_level '"DB_data_exchange".Release_valve' --layout "$X" \
  --layout "$T" --db DB_data_exchange=10 --db seed_db_data_exchange_tablecopy=10 --json
expect 0 '{"Count": 7}' "$BIN" watch "$U" Count --layout "$L12" --interval 50 --count 3 --json
[ "$(wc -l < "$TMP/out")" = 1 ] || fail "watch printed unchanged values: $(cat "$TMP/out")"
# --db N overrides the source's number: DB 13 does not exist on the PLC
expect 1 "read Count: object does not exist" "$BIN" read "$U" Count --layout "$L12" --db 13

# usage errors (exit 2): unknown member names the member and the DB
expect 2 "unknown member 'Nope' in \"DB_data_exchange\" (DB 10)" "$BIN" read "$U" Nope --layout "$X" --db 10
expect 2 "unknown member 'Motor.Sped' in \"DB 12\" (DB 12)" "$BIN" write "$U" Motor.Sped=1 --layout "$L12"
expect 2 "index outside the declared bounds" "$BIN" read "$U" "Recipe[5].Temp" --layout "$L12"
expect 2 "gives no DB number: say it with --db N" "$BIN" read "$U" Tank_level --layout "$X"
expect 2 "define 2 data blocks; say which: --db NAME=N" "$BIN" read "$U" Count --layout "$X" --layout "$L12" --db 10
expect 2 "no data block of that name" "$BIN" read "$U" Count --layout "$L12" --db Other=3
expect 2 "a DB number 1..65535" "$BIN" read "$U" Count --layout "$L12" --db 0
expect 2 "--db goes with --layout" "$BIN" read "$U" DB12.DBW0 --db 12
expect 2 "write Motor: a STRUCT" "$BIN" write "$U" Motor=1 --layout "$L12"
expect 2 "write Flags: a whole ARRAY" "$BIN" write "$U" Flags=1 --layout "$L12"
expect 2 "out of range for INT" "$BIN" write "$U" Release_valve=40000 --layout "$X" --db 10
expect 2 "bad.db:4:7: " "$BIN" read "$U" a --layout "$TMP/bad.db" --db 3
expect 2 "cannot open" "$BIN" read "$U" a --layout "$TMP/missing.db" --db 3
expect 2 "" "$BIN" read "$U" Count --layout
expect 2 "--layout is for s7:// URLs" "$BIN" read "modbus-tcp://127.0.0.1:1" hr0 --layout "$X"
expect 2 "--db is for s7:// URLs" "$BIN" write "modbus-tcp://127.0.0.1:1" hr0=1 --db 3
# a refused value sends nothing
expect 2 "" "$BIN" write "$U" Count=1 Motor.Speed=x --layout "$L12"
expect 0 "Count = 7" "$BIN" read "$U" Count --layout "$L12"
kill "$SRV" 2>/dev/null

# the same names against snap7's server (DB3: 1000 zero bytes)
node "$DIR/s7_snap7_server.js" --seconds 60 > "$TMP/srv" &
SRV=$!
wait_listen "$TMP/srv"
U="s7://127.0.0.1:$(sed 's/.*://' "$TMP/srv")"
expect 0 "" "$BIN" write "$U" DB3.DBB0=255 DB3.DBB2=0
expect 0 "" "$BIN" write "$U" Power=false bool_data16=true int_data4=-12 real_data4=0.25 --layout "$X" --db 3
expect 0 '{"DB3.DBB0": 254, "DB3.DBB2": 1, "DB3.DBW16:INT": -12, "DB3.DBD44:REAL": 0.25}' \
  "$BIN" read "$U" DB3.DBB0 DB3.DBB2 DB3.DBW16:INT DB3.DBD44:REAL --json
expect 0 '{"Power": false, "Power_ON": true, "int_data4": -12, "real_data4": 0.25}' \
  "$BIN" read "$U" Power Power_ON int_data4 real_data4 --layout "$X" --db 3 --json
kill "$SRV" 2>/dev/null
rm -rf "$TMP"
echo "cli_s7_layout: ok"
