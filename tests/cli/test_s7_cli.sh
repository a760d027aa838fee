#!/bin/sh
# plcio read/write/watch/info/blocks with s7:// URLs against snap7's server:
# output (text and --json), error messages and exit codes.
# usage: test_s7_cli.sh PLCIO_BIN INTEROP_DIR
set -u
BIN=$1
DIR=$2
TMP=$(mktemp -d)
SRV=
# Every path (a failure, an error of the shell, ctest's timeout) stops the server.
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

node "$DIR/s7_snap7_server.js" --seconds 90 > "$TMP/srv" &
SRV=$!
wait_listen "$TMP/srv"
PORT=$(sed 's/.*://' "$TMP/srv")
U="s7://127.0.0.1:$PORT"

expect 0 "DB1.DBW0:INT = 1234" "$BIN" read "$U" DB1.DBW0:INT DB1.DBD2:REAL
expect 0 "DB1.DBD2:REAL = 3.5" "$BIN" read "$U" DB1.DBW0:INT DB1.DBD2:REAL
expect 0 '{"DB1.DBW0:INT": 1234, "DB1:2:REAL": 3.5, "DB1.DBB10\[3\]": \[10, 11, 12\]}' \
  "$BIN" read "$U" DB1.DBW0:INT DB1:2:REAL "DB1.DBB10[3]" --json
expect 0 "" "$BIN" write "$U" "DB3.DBW0:INT=-7" "DB3.DBB2:STRING[10]=hi \"there\"" M5.3=true
expect 0 '{"DB3.DBW0:INT": -7, "DB3.DBB2:STRING\[10\]": "hi \\"there\\"", "M5.3": true}' \
  "$BIN" read "$U" DB3.DBW0:INT "DB3.DBB2:STRING[10]" M5.3 --json
expect 1 "read DB9.DBW0: object does not exist" "$BIN" read "$U" MW0 DB9.DBW0
expect 1 "address out of range: DB1 is 100 bytes" "$BIN" read "$U" DB1.DBD98:REAL
expect 1 "address out of range: DB1 is 100 bytes" "$BIN" write "$U" DB1.DBD98:REAL=1.5
expect 2 "out of range for INT" "$BIN" write "$U" DB3.DBW0:INT=70000
# a bad value stops everything before anything is sent
expect 2 "" "$BIN" write "$U" DB3.DBW0:INT=11 DB3.DBW2:INT=x
expect 0 "DB3.DBW0:INT = -7" "$BIN" read "$U" DB3.DBW0:INT
# one multi-variable write: the good items land, each refusal is named
expect 1 "write DB9.DBW0: object does not exist" "$BIN" write "$U" DB3.DBW0:INT=12 DB9.DBW0=1
expect 0 "DB3.DBW0:INT = 12" "$BIN" read "$U" DB3.DBW0:INT
expect 2 "" "$BIN" read "$U" DB1.DBQ0
expect 2 "" "$BIN" read "$U"
expect 2 "unknown s7:// parameter" "$BIN" read "s7://127.0.0.1:$PORT?slott=1" MW0
# URL errors name the part and why; port 0 is never read as "the default 102"
expect 2 "bad URL 's7://127.0.0.1:0': port 0 is out of range (1..65535)" "$BIN" read "s7://127.0.0.1:0" MW0
expect 2 "s7:// URL takes no path, found '/db1'" "$BIN" read "s7://127.0.0.1:$PORT/db1" MW0
expect 2 "parameter 'rack' is given twice" "$BIN" read "s7://127.0.0.1:$PORT?rack=0&rack=1" MW0
expect 2 "s7:// parameter rack=9 is not a number in 0..7" "$BIN" read "s7://127.0.0.1:$PORT?rack=9" MW0
expect 1 "connection refused" "$BIN" read "s7://127.0.0.1:1" MW0
expect 0 "state *RUN" "$BIN" info "$U"
expect 0 '"order_code": "6ES7 315-2EH14-0AB0"' "$BIN" info "$U" --json
expect 0 "DB  *3  1 2 3" "$BIN" blocks "$U"
expect 0 '"DB": \[1, 2, 3\]' "$BIN" blocks "$U" --json
expect 0 '{"DB1.DBW0:INT": 1234}' "$BIN" watch "$U" DB1.DBW0:INT --interval 50 --count 3 --json
[ "$(wc -l < "$TMP/out")" = 1 ] || fail "watch printed unchanged values: $(cat "$TMP/out")"

kill "$SRV" 2>/dev/null

# the same client against plcio's own S7 server (plcio sim s7)
"$BIN" sim s7 --listen 127.0.0.1:0 --db 1:100 --db 2:4000 --seconds 60 > "$TMP/sim" 2>&1 &
SRV=$!
i=0
while ! grep -q listening "$TMP/sim" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "plcio sim s7 did not start"; sleep 0.1
done
U="s7://$(sed -n 's/.*listening on //p' "$TMP/sim")"
expect 0 "" "$BIN" write "$U" "DB2.DBD3000:REAL=-1.5" "DB1.DBB4:STRING[6]=abc" M0.7=true
expect 0 '{"DB2.DBD3000:REAL": -1.5, "DB1.DBB4:STRING\[6\]": "abc", "M0.7": true}' \
  "$BIN" read "$U" DB2.DBD3000:REAL "DB1.DBB4:STRING[6]" M0.7 --json
expect 1 "address out of range: DB1 is 100 bytes" "$BIN" read "$U" DB1.DBW99
expect 1 "object does not exist" "$BIN" read "$U" DB3.DBW0
expect 0 "state *RUN" "$BIN" info "$U"
expect 0 '"DB": \[1, 2\]' "$BIN" blocks "$U" --json
kill "$SRV" 2>/dev/null

# the simulator's limits (issue 23): shown in --help, checked, 0 = never
expect 0 "--frame-timeout MS" "$BIN" sim s7 --help
expect 2 "--idle-timeout wants milliseconds 0..86400000" "$BIN" sim s7 --idle-timeout 86400001
expect 2 "--frame-timeout wants milliseconds" "$BIN" sim s7 --frame-timeout x
expect 2 "--max-connections wants 1..100000" "$BIN" sim s7 --max-connections 0
# a connection that only sent a COTP connection request is closed after --idle-timeout
"$BIN" sim s7 --listen 127.0.0.1:0 --idle-timeout 300 --seconds 20 > "$TMP/sim2" 2>&1 &
SRV=$!
i=0
while ! grep -q listening "$TMP/sim2" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "plcio sim s7 did not start"; sleep 0.1
done
P2=$(sed -n 's/.*listening on .*:\([0-9]*\).*/\1/p' "$TMP/sim2")
/usr/bin/python3 - "$P2" <<'PY' || fail "sim s7 --idle-timeout 300 did not close a COTP-only connection"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(bytes.fromhex("0300001611e00000000100c0010ac1020100c2020102"))
s.settimeout(10)
data = s.recv(64)  # the CC
assert data[5] == 0xD0, data
while data:
    data = s.recv(64)  # then EOF, well before 10 s
PY
kill "$SRV" 2>/dev/null
rm -rf "$TMP"
echo "cli_s7: ok"
