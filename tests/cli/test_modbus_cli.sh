#!/bin/sh
# plcio read/write/watch/info with modbus-* URLs against pymodbus's server
# (foreign peer, known contents) and plcio sim modbus: output (text and
# --json), error messages and exit codes.
# usage: test_modbus_cli.sh PLCIO_BIN INTEROP_DIR
set -u
BIN=$1
DIR=$2
TMP=$(mktemp -d)
SRV=
SIM=
# Every path (a failure, an error of the shell, ctest's timeout) stops both servers.
cleanup() { for p in $SRV $SIM; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 "$DIR/modbus/pymodbus_peer.py" server tcp --seconds 60 > "$TMP/srv" 2>/dev/null &
SRV=$!
"$BIN" sim modbus --tcp 127.0.0.1:0 --unit 1 --seconds 60 > "$TMP/sim" &
SIM=$!
wait_listen "$TMP/srv"
wait_listen "$TMP/sim"
U="modbus-tcp://127.0.0.1:$(sed 's/.*://' "$TMP/srv")"
S="modbus-tcp://127.0.0.1:$(head -1 "$TMP/sim" | sed 's/.*:\([0-9]*\).*/\1/')"

# pymodbus's contents: holding[i] = i, float 123.456 (ABCD) at 100, input[i] = 1000 + i
expect 0 "hr5 = 5" "$BIN" read "$U" hr5
expect 0 "hr100:REAL = 123.456001" "$BIN" read "$U" hr100:REAL
expect 0 "400101:REAL = 123.456001" "$BIN" read "$U" 400101:REAL
expect 0 "hr6 = 5" "$BIN" read "$U" hr6 --base 1
expect 0 '{"hr0\[4\]": \[0, 1, 2, 3\], "ir2": 1002, "co0\[4\]": \[true, false, false, true\]}' \
  "$BIN" read "$U" "hr0[4]" ir2 "co0[4]" --json
expect 0 '"hr100": 123.456001' "$BIN" read "$U" hr100 --type REAL --json
expect 0 "" "$BIN" write "$U" "hr300:REAL:CDAB=-2.5" "hr310:DINT=-100000" "co50[3]=true,false,true" "hr320:STRING[6]=abc"
expect 0 '{"hr300:REAL:CDAB": -2.5, "hr310:DINT": -100000, "co50\[3\]": \[true, false, true\], "hr320:STRING\[6\]": "abc"}' \
  "$BIN" read "$U" hr300:REAL:CDAB hr310:DINT "co50[3]" "hr320:STRING[6]" --json
expect 0 "hr300 = 0" "$BIN" read "$U" hr300
expect 0 "VendorName *pymodbus-peer" "$BIN" info "$U"
expect 0 '{"VendorName": "pymodbus-peer", "ProductCode": "PM"' "$BIN" info "$U" --json
expect 1 "illegal data address" "$BIN" read "$U" hr995[10]
expect 2 "out of range for INT" "$BIN" write "$U" hr7:INT=70000
expect 2 "read-only" "$BIN" write "$U" ir7=1
expect 2 "" "$BIN" read "$U" hx7
expect 2 "" "$BIN" read "$U"
expect 2 "bad URL.*unknown parameter 'slave'" "$BIN" read "modbus-tcp://127.0.0.1?slave=1" hr0
expect 2 "port 0 is out of range (1..65535)" "$BIN" read "modbus-tcp://127.0.0.1:0" hr0
expect 2 "takes no path, found '/x'" "$BIN" read "$U/x" hr0
expect 2 "parameter unit=300 is not a number in 0..255" "$BIN" read "$U?unit=300" hr0
expect 2 "parameter 'unit' is given twice" "$BIN" read "$U?unit=1&unit=2" hr0
expect 1 "connection refused" "$BIN" read "modbus-tcp://127.0.0.1:1" hr0
# our simulator: only unit 1 exists; other units get exception 0B
expect 0 "ProductCode *plcio-sim" "$BIN" info "$S"
expect 1 "gateway target" "$BIN" read "$S" hr0 --unit 9
expect 0 "" "$BIN" write "$S" hr0=41
expect 0 '{"hr0": 41}' "$BIN" watch "$S" hr0 --interval 50 --count 3 --json
[ "$(wc -l < "$TMP/out")" = 1 ] || fail "watch printed unchanged values: $(cat "$TMP/out")"

# the simulator's limits (issue 23): shown in --help, checked, 0 = never
expect 0 "--idle-timeout MS" "$BIN" sim modbus --help
expect 2 "--idle-timeout: want milliseconds 0..86400000" "$BIN" sim modbus --idle-timeout 86400001
expect 2 "--frame-timeout: want milliseconds" "$BIN" sim modbus --frame-timeout -5
expect 2 "--max-connections: want 1..100000" "$BIN" sim modbus --max-connections 0
expect 2 "--max-connections: want 1..100000" "$BIN" sim modbus --max-connections 100001
# an idle connection is closed after --idle-timeout; 0 keeps it
"$BIN" sim modbus --tcp 127.0.0.1:0 --idle-timeout 300 --seconds 20 > "$TMP/sim2" &
SIM2=$!
wait_listen "$TMP/sim2"
P2=$(head -1 "$TMP/sim2" | sed 's/.*:\([0-9]*\).*/\1/')
/usr/bin/python3 - "$P2" <<'PY' || fail "sim modbus --idle-timeout 300 did not close an idle connection"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.monotonic()
s.settimeout(10)
assert s.recv(1) == b""  # closed by the server, well before 10 s
PY
kill $SIM2 2>/dev/null

kill $SRV $SIM 2>/dev/null
rm -rf "$TMP"
echo "cli modbus: all passed"
