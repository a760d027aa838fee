#!/bin/sh
# Per-item outcomes of plcio read / watch (issue 14), JSON that is always
# valid, one array form, and the S7 administration commands (control, clock,
# szl, upload, delete) and Modbus diag, against foreign peers (snap7's
# server, pymodbus's server) and plcio's simulators.
# usage: test_cli_results.sh PLCIO_BIN INTEROP_DIR
set -u
BIN=$1
DIR=$2
TMP=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

no() { # no PATTERN: the last command's stdout lacks it
  ! grep -q -- "$1" "$TMP/out" || fail "unexpected '$1' in: $(cat "$TMP/out")"
}
# The last stdout is one valid JSON document; python checks it and prints key=value lines.
json() {
  $PY -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
for k, v in d.items():
    print("%s=%s" % (k, json.dumps(v)))
' "$TMP/out" > "$TMP/json" || fail "not valid JSON: $(cat "$TMP/out")"
}
has() { grep -qxF -- "$1" "$TMP/json" || fail "JSON lacks $1: $(cat "$TMP/json")"; }

node "$DIR/s7_snap7_server.js" --seconds 100 > "$TMP/snap7" &
PIDS="$PIDS $!"
"$BIN" sim s7 --listen 127.0.0.1:0 --db 1:100 --db 2:64 --seconds 100 > "$TMP/sim" 2>&1 &
PIDS="$PIDS $!"
$PY "$DIR/modbus/pymodbus_peer.py" server tcp --seconds 100 > "$TMP/pym" 2>/dev/null &
PIDS="$PIDS $!"
"$BIN" sim modbus --listen 127.0.0.1:0 --size 100 --seconds 100 > "$TMP/simmb" &
PIDS="$PIDS $!"
for f in snap7 sim pym simmb; do wait_listen "$TMP/$f"; done
SNAP="s7://$(sed -n 's/.*listening on //p' "$TMP/snap7")"
SIM="s7://$(sed -n 's/.*listening on //p' "$TMP/sim")"
PYM="modbus-tcp://127.0.0.1:$(sed 's/.*://' "$TMP/pym")"
SIMMB="modbus-tcp://127.0.0.1:$(head -1 "$TMP/simmb" | sed 's/.*:\([0-9]*\) (tcp)/\1/')"

# ---- three items, the middle one fails: the others are printed, exit 1 ----
for U in "$SNAP" "$SIM"; do
  expect 0 "" "$BIN" write "$U" DB1.DBW20:INT=-21 "DB1.DBB30[3]=7,8,9"
  expect 1 "read DB9.DBW0: object does not exist" "$BIN" read "$U" DB1.DBW20:INT DB9.DBW0 "DB1.DBB30[3]"
  grep -qx "DB1.DBW20:INT = -21" "$TMP/out" || fail "$U: first item missing: $(cat "$TMP/out")"
  grep -qx "DB1.DBB30\[3\] = \[7, 8, 9\]" "$TMP/out" || fail "$U: third item missing: $(cat "$TMP/out")"
  no "DB9"
  expect 1 "" "$BIN" read "$U" DB1.DBW20:INT DB9.DBW0 "DB1.DBB30[3]" --json
  json
  has 'DB1.DBW20:INT=-21'
  has 'DB9.DBW0={"error": "object does not exist"}'
  has 'DB1.DBB30[3]=[7, 8, 9]'
  # every item fine: exit 0
  expect 0 "" "$BIN" read "$U" DB1.DBW20:INT "DB1.DBB30[3]"
  # an out-of-range item in the middle of good ones
  expect 1 "read DB1.DBD98:REAL: address out of range: DB1 is 100 bytes" \
    "$BIN" read "$U" DB1.DBB30 DB1.DBD98:REAL DB1.DBB31 --json
  json
  has 'DB1.DBB30=7'
  has 'DB1.DBB31=8'
  # watch: the same per-item outcomes, exit 1 when the last poll had a failure
  expect 1 "" "$BIN" watch "$U" DB1.DBW20:INT DB9.DBW0 --count 2 --interval 20 --json
  json
  has 'DB9.DBW0={"error": "object does not exist"}'
  # S7 array writes: one value per element, checked before anything is sent
  expect 2 "write DB1.DBB30\[3\]: 3 values wanted" "$BIN" write "$U" "DB1.DBB30[3]=1,2"
  expect 2 "write DB1.DBB30\[3\]=300: " "$BIN" write "$U" "DB1.DBB30[3]=1,300,3"
  expect 0 "" "$BIN" write "$U" DB1.DBB50=0 DB1.DBB51=255
  expect 0 "" "$BIN" write "$U" "DB1.DBW40:INT[2]=[-1, 2]" "DB1.DBX50.6[3]=true,false,false"
  expect 0 "DB1.DBW40:INT\[2\] = \[-1, 2\]" "$BIN" read "$U" "DB1.DBW40:INT[2]"
  expect 0 "DB1.DBX50.6\[3\] = \[true, false, false\]" "$BIN" read "$U" "DB1.DBX50.6[3]"
  # the bit writes left the other bits of bytes 50 and 51 alone (51: bit 0 written false)
  expect 0 "DB1.DBB51 = 254" "$BIN" read "$U" DB1.DBB51
  expect 0 "DB1.DBB50 = 64" "$BIN" read "$U" DB1.DBB50
  # NaN and infinities: valid JSON (strings), the same in text as the library prints
  expect 0 "" "$BIN" write "$U" DB1.DBD60:REAL=nan DB1.DBD64:REAL=inf DB1.DBD68:REAL=-inf DB1.DBD72:REAL=1.5
  expect 0 "" "$BIN" read "$U" DB1.DBD60:REAL DB1.DBD64:REAL DB1.DBD68:REAL DB1.DBD72:REAL --json
  json
  has 'DB1.DBD60:REAL="NaN"'
  has 'DB1.DBD64:REAL="Infinity"'
  has 'DB1.DBD68:REAL="-Infinity"'
  has 'DB1.DBD72:REAL=1.5'
done

# ---- Modbus: the same outcomes and the same array form ----
for U in "$PYM" "$SIMMB"; do
  expect 0 "" "$BIN" write "$U" "hr10[3]=[4, 5, 6]" hr20:REAL=nan
  expect 1 "read hr9999: illegal data address" "$BIN" read "$U" hr10 hr9999 "hr10[3]"
  grep -qx "hr10 = 4" "$TMP/out" || fail "$U: first item missing: $(cat "$TMP/out")"
  grep -qx "hr10\[3\] = \[4, 5, 6\]" "$TMP/out" || fail "$U: third item missing: $(cat "$TMP/out")"
  expect 1 "" "$BIN" read "$U" hr10 hr9999 "hr10[3]" hr20:REAL --json
  json
  has 'hr10=4'
  has 'hr9999={"error": "illegal data address"}'
  has 'hr10[3]=[4, 5, 6]'
  has 'hr20:REAL="NaN"'
  expect 1 "" "$BIN" watch "$U" hr10 hr9999 --count 1 --json
  json
  has 'hr9999={"error": "illegal data address"}'
  # value errors name the address as given
  expect 2 "write hr7: 70000 is out of range for UINT" "$BIN" write "$U" hr7=70000
  expect 2 "write hr10\[2\]: " "$BIN" write "$U" "hr10[2]=1,x"
done

# ---- control: stop and start seen in SZL 0x0424 ----
for U in "$SNAP" "$SIM"; do
  expect 0 "stop: done; CPU state STOP" "$BIN" control "$U" stop
  expect 0 "state STOP" "$BIN" szl "$U" 0x0424
  expect 0 "" "$BIN" info "$U" --json
  json
  has 'state="STOP"'
  expect 0 "hot-start: done; CPU state RUN" "$BIN" control "$U" hot-start
  expect 0 "" "$BIN" szl "$U" 0x0424 --json
  json
  has 'records=[{"state": "RUN", "hex": "'"$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"][0]["hex"])' "$TMP/out")"'"}]'
  expect 0 "cold-start: done; CPU state RUN" "$BIN" control "$U" cold-start
  expect 2 "unknown action 'halt'" "$BIN" control "$U" halt
  # SZL: a known list decoded, the list of lists, an unknown ID refused by the PLC
  expect 0 "6ES7 315-2EH14-0AB0" "$BIN" szl "$U" 0x0011
  expect 0 "0x0011" "$BIN" szl "$U" --list
  expect 1 "szl 0x0F99" "$BIN" szl "$U" 0x0F99
  expect 2 "ID\[:INDEX\] in hex" "$BIN" szl "$U" 0x12345
  expect 2 "give either ID" "$BIN" szl "$U"
done

# ---- clock: set and read back (plcio sim keeps it; snap7's server answers a set
# but keeps its own clock, so against it only the reading is checked) ----
expect 0 "2024-02-29T12:34:5" "$BIN" clock "$SIM" --set 2024-02-29T12:34:56.250
expect 0 "2024-02-29T12:34:5" "$BIN" clock "$SIM"
expect 0 "" "$BIN" clock "$SIM" --set now
grep -q "^$(date +%Y-%m-%d)T" "$TMP/out" || fail "clock --set now: $(cat "$TMP/out")"
expect 0 "^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:" "$BIN" clock "$SNAP"
expect 2 "not a date that exists" "$BIN" clock "$SIM" --set 2023-02-29T00:00:00
expect 2 "'now' or YYYY-MM-DD" "$BIN" clock "$SIM" --set yesterday

# ---- blocks: upload from plcio sim; the image has the DB's bytes; refusals named ----
expect 0 "" "$BIN" write "$SIM" "DB2.DBB0[4]=1,2,3,4"
expect 0 "DB2: .* bytes written" "$BIN" upload "$SIM" DB2 "$TMP/db2.blk"
$PY - "$TMP/db2.blk" <<'PY' || fail "the uploaded DB2 image is not DB2's block"
import sys
b = open(sys.argv[1], "rb").read()
assert b[0:2] == b"pp" and b[5] == 0x0A and int.from_bytes(b[6:8], "big") == 2, b[:12]
assert int.from_bytes(b[8:12], "big") == len(b)
mc7 = int.from_bytes(b[34:36], "big")
assert mc7 == 64 and b[36:40] == bytes([1, 2, 3, 4]), (mc7, b[36:40])
PY
expect 1 "upload DB77" "$BIN" upload "$SIM" DB77 "$TMP/x.blk"
expect 2 "'XB1' is not a block" "$BIN" upload "$SIM" XB1 "$TMP/x.blk"
# snap7's server refuses block transfer (it answers as a password-protected CPU)
expect 1 "needs a password" "$BIN" upload "$SNAP" DB1 "$TMP/snap.blk"
# download checks the image before it connects
printf 'not a block' > "$TMP/bad.blk"
expect 2 "is not an S7 block image" "$BIN" download "$SIM" "$TMP/bad.blk"
# the simulator takes downloads and deletes (the whole round trip: test_s7_blocks_cli.sh)
expect 0 "download DB5: " "$BIN" download "$SIM" "$TMP/db2.blk" --block DB5
expect 0 "DB5.DBB0\[4\] = \[1, 2, 3, 4\]" "$BIN" read "$SIM" "DB5.DBB0[4]"
expect 0 "delete DB5: done" "$BIN" delete "$SIM" DB5
expect 1 "0xD209" "$BIN" delete "$SIM" DB5

# ---- simulator priming: the uploaded block and a raw image as DBs; the default
# data set (README's examples); peripheral I/O ----
printf '\001\002\003\377' > "$TMP/raw.bin"
printf 'hr0 = 1234\nhr2:REAL=3.5  # a comment\n"ignored"\n' > "$TMP/bad.txt"
expect 2 "bad.txt:3: " "$BIN" sim modbus --listen 127.0.0.1:0 --data "$TMP/bad.txt" --seconds 1
printf '# start values\nhr0 = 1234\nhr2:REAL:CDAB=-2.5\nhr10[3]=[7, 8, 9]\nco4[3]=1,0,1\nir3:DINT=-100000\n' > "$TMP/data.txt"
"$BIN" sim modbus --listen 127.0.0.1:0 --data "$TMP/data.txt" --seconds 60 > "$TMP/simmb2" &
PIDS="$PIDS $!"
"$BIN" sim s7 --listen 127.0.0.1:0 --db 3:"$TMP/db2.blk" --db 4:"$TMP/raw.bin" --seconds 60 > "$TMP/sim2" 2>&1 &
PIDS="$PIDS $!"
"$BIN" sim s7 --listen 127.0.0.1:0 --seconds 60 > "$TMP/sim3" 2>&1 &
PIDS="$PIDS $!"
for f in simmb2 sim2 sim3; do wait_listen "$TMP/$f"; done
M2="modbus-tcp://127.0.0.1:$(head -1 "$TMP/simmb2" | sed 's/.*:\([0-9]*\) (tcp)/\1/')"
S2="s7://$(sed -n 's/.*listening on //p' "$TMP/sim2")"
S3="s7://$(sed -n 's/.*listening on //p' "$TMP/sim3")"
expect 0 "" "$BIN" read "$M2" hr0 hr2:REAL:CDAB "hr10[3]" "co4[3]" ir3:DINT --json
json
has 'hr0=1234'
has 'hr2:REAL:CDAB=-2.5'
has 'hr10[3]=[7, 8, 9]'
has 'co4[3]=[true, false, true]'
has 'ir3:DINT=-100000'
expect 0 "DB3.DBB0\[4\] = \[1, 2, 3, 4\]" "$BIN" read "$S2" "DB3.DBB0[4]"
expect 1 "DB3 is 64 bytes" "$BIN" read "$S2" DB3.DBB64
expect 0 "DB4.DBB0\[4\] = \[1, 2, 3, 255\]" "$BIN" read "$S2" "DB4.DBB0[4]"
expect 2 "not a DB block image" "$BIN" sim s7 --db 3:"$TMP/bad.blk" --listen 127.0.0.1:0
expect 2 "no-such.bin" "$BIN" sim s7 --db 3:"$TMP/no-such.bin" --listen 127.0.0.1:0
expect 0 '{"DB1.DBW0:INT": 1234, "DB1:2:REAL": 3.5, "DB1.DBB10\[3\]": \[10, 11, 12\]}' \
  "$BIN" read "$S3" DB1.DBW0:INT DB1:2:REAL "DB1.DBB10[3]" --json
expect 0 "" "$BIN" write "$S3" IW256=4711 PQW300=99
expect 0 '{"PIW256": 4711, "QW300": 99}' "$BIN" read "$S3" PIW256 QW300 --json

# ---- Modbus file records (FC 20/21): pymodbus's client writes one, plcio reads it ----
"$BIN" sim modbus --listen 127.0.0.1:0 --unit 1 --size 1000 --files 4 --seconds 60 > "$TMP/simf" &
PIDS="$PIDS $!"
wait_listen "$TMP/simf"
PF="127.0.0.1:$(head -1 "$TMP/simf" | sed 's/.*:\([0-9]*\) (tcp)/\1/')"
$PY "$DIR/modbus/pymodbus_peer.py" client tcp "$PF" --unit 1 > "$TMP/pyc" 2>&1 || fail "pymodbus client: $(tail -3 "$TMP/pyc")"
grep -q "ok fc21 write file record" "$TMP/pyc" || fail "pymodbus wrote no file record: $(cat "$TMP/pyc")"
expect 0 "file1:9\[2\] = \[10, 258\]" "$BIN" read "modbus-tcp://$PF" "file1:9[2]"
expect 0 "" "$BIN" write "modbus-tcp://$PF" "file2:0[3]=[7, 8, 65535]" hr5=1
expect 1 "read file9:0: illegal data address" "$BIN" read "modbus-tcp://$PF" file2:1 "file9:0" "file2:0[3]" --json
json
has 'file2:0[3]=[7, 8, 65535]'
has 'file9:0={"error": "illegal data address"}'
expect 2 "a file record is fileF:R\[N\]" "$BIN" read "modbus-tcp://$PF" "file1:10000"
expect 2 "'65536' is not a register value" "$BIN" write "modbus-tcp://$PF" "file2:0=65536"
# Modbus writes check every value before sending any: hr5 stays 1
expect 2 "write hr7:INT: 70000 is out of range" "$BIN" write "modbus-tcp://$PF" hr5=2 hr7:INT=70000
expect 0 "hr5 = 1" "$BIN" read "modbus-tcp://$PF" hr5

# ---- Modbus diag: FC 8 counters, FC 11/12, FC 43/14 ----
for U in "$SIMMB" "$PYM"; do
  expect 0 "" "$BIN" diag "$U" --json
  json
  grep -q '^bus_message_count=[0-9]' "$TMP/json" || fail "diag $U: no bus message count: $(cat "$TMP/json")"
  grep -q '^identification={"VendorName"' "$TMP/json" || fail "diag $U: no identification: $(cat "$TMP/json")"
done
expect 0 "ProductCode *plcio-sim" "$BIN" diag "$SIMMB"

# ---- FC 17 as mbpoll (libmodbus) reads it: id, run indicator, additional data.
# mbpoll asks for it only on a serial line: socat gives two connected ptys ----
socat pty,raw,echo=0,link="$TMP/ttyA" pty,raw,echo=0,link="$TMP/ttyB" 2> /dev/null &
PIDS="$PIDS $!"
i=0
while [ ! -e "$TMP/ttyB" ]; do i=$((i + 1)); [ $i -gt 100 ] && fail "socat made no ptys"; sleep 0.1; done
expect 2 "--server-id: want 0..255" "$BIN" sim modbus --server-id 0x21
"$BIN" sim modbus --rtu "$TMP/ttyA" --unit 1 --server-id 33 --seconds 60 > "$TMP/rtu" 2>&1 &
PIDS="$PIDS $!"
wait_listen "$TMP/rtu"
timeout 20 mbpoll -m rtu -b 19200 -P even -a 1 -u -1 "$TMP/ttyB" > "$TMP/mbpoll" 2>&1 || fail "mbpoll -u: $(cat "$TMP/mbpoll")"
grep -q "Id *: 0x21" "$TMP/mbpoll" || fail "FC 17 server id as mbpoll shows it: $(cat "$TMP/mbpoll")"
grep -q "Status: On" "$TMP/mbpoll" || fail "FC 17 run indicator as mbpoll shows it: $(cat "$TMP/mbpoll")"
grep -q "Data *: plcio sim" "$TMP/mbpoll" || fail "FC 17 additional data as mbpoll shows it: $(cat "$TMP/mbpoll")"
echo "ok"
