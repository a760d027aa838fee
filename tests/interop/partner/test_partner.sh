#!/usr/bin/env bash
# S7 partner (docs/s7.md "Partner"): plcio partner against python-snap7's
# Partner (a foreign peer, tests/interop/partner/python_snap7_partner.py), both
# ways round, and plcio against itself for what python-snap7 cannot do
# (reassembling fragments). Blocks and R-IDs are random per run.
# Checks: 1. plcio active -> python-snap7 passive: blocks both ways, R-IDs and
# bytes as sent. 2. python-snap7 active -> plcio passive: the same, with a
# block larger than the PDU (python-snap7 sends it in one PDU). 3. plcio <->
# plcio: a 60000-byte block in fragments, both ways. 4. the partner goes away
# after the first fragment of a large block: plcio reports the block as not
# delivered (exit 1), never "sent". 5. malformed BSend PDUs: plcio names the
# fault, drops that link, and still takes the next partner's block. 6. tshark's
# S7 dissector decodes a fragmented block's frames, nothing malformed.
# usage: test_partner.sh PLCIO_BIN
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/python_snap7_partner.py"
SNAP7=${PLCIO_PYTHON_SNAP7:-$HERE/../../../../shared/peers/python-snap7}
if [ ! -f "$SNAP7/snap7/partner.py" ]; then
  echo "SKIP: python-snap7 not found (PLCIO_PYTHON_SNAP7 or ../shared/peers/python-snap7)"; exit 77
fi
TMP=$(mktemp -d)
PIDS=
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; for f in "$TMP"/*.out "$TMP"/*.err; do [ -f "$f" ] && { echo "--- $f"; cut -c1-300 "$f" | tail -8; }; done; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
export PLCIO_TEST_RUN=${PLCIO_TEST_RUN:-1}
py() { /usr/bin/python3 "$PEER" "$SNAP7" "$@"; }
# start "name" cmd...: run in the background, stdout to name.out, stderr to name.err
start() { local n=$1; shift; "$@" > "$TMP/$n.out" 2> "$TMP/$n.err" & PIDS="$PIDS $!"; LAST=$!; }
port_of() {
  for _ in $(seq 600); do grep -q listening "$TMP/$1.out" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p;s/.*"address":"127.0.0.1:\([0-9]*\)".*/\1/p' "$TMP/$1.out" | head -1
}
r() { echo $(( (RANDOM << 15 | RANDOM) % $1 )); }
hexof() { od -An -v -tx1 "$1" | tr -d ' \n'; }
# want_recv FILE RID HEX: FILE has a recv event with that R-ID and those bytes
want_recv() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY' || fail "$1: no block R-ID $2 with the bytes sent"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(0 if any(e.get("event") == "recv" and e["r_id"] == int(sys.argv[2]) and e["hex"] == sys.argv[3] for e in ev) else 1)
PY
}

R1=$(r 100000); R2=$(( R1 + 1 + $(r 1000) )); R3=$(r 4294967); T1="hello $(r 99999)"
head -c $(( 100 + $(r 300) )) /dev/urandom > "$TMP/small.bin"
head -c $(( 1500 + $(r 2000) )) /dev/urandom > "$TMP/medium.bin"
head -c 60000 /dev/urandom > "$TMP/large.bin"
HT1=$(printf '%s' "$T1" | od -An -v -tx1 | tr -d ' \n')

# 1. plcio active -> python-snap7 passive
start py1 py passive "recv 2" "send $R3:$(hexof "$TMP/small.bin")"
P=$(port_of py1); [ -n "$P" ] || fail "python-snap7 passive partner did not start"
"$BIN" partner --active "127.0.0.1:$P" --send "$R1:$T1" --send "$R2:@$TMP/small.bin" --recv --count 1 \
  --seconds 20 --json > "$TMP/a1.out" 2> "$TMP/a1.err" || fail "plcio active against python-snap7: $(cat "$TMP/a1.err")"
wait "$LAST" || fail "python-snap7 passive partner failed"
want_recv "$TMP/py1.out" "$R1" "$HT1"
want_recv "$TMP/py1.out" "$R2" "$(hexof "$TMP/small.bin")"
want_recv "$TMP/a1.out" "$R3" "$(hexof "$TMP/small.bin")"
grep -q "\"sent\",\"r_id\":$R2," "$TMP/a1.out" || fail "plcio did not report R-ID $R2 sent"
echo "ok 1 plcio active <-> python-snap7 passive"

# 2. python-snap7 active -> plcio passive (a block larger than the PDU in one PDU)
start p2 "$BIN" partner --passive 127.0.0.1:0 --send "$R2:$T1" --recv --count 2 --seconds 20 --json
PL=$LAST; P=$(port_of p2); [ -n "$P" ] || fail "plcio passive did not start"
py active "$P" "recv 1" "send $R1:$(hexof "$TMP/small.bin")" "sendfile $R3:$TMP/medium.bin" > "$TMP/py2.out" 2> "$TMP/py2.err" \
  || fail "python-snap7 active partner failed: $(cat "$TMP/py2.err")"
wait "$PL" || fail "plcio passive: $(cat "$TMP/p2.err")"
want_recv "$TMP/py2.out" "$R2" "$HT1"
want_recv "$TMP/p2.out" "$R1" "$(hexof "$TMP/small.bin")"
want_recv "$TMP/p2.out" "$R3" "$(hexof "$TMP/medium.bin")"
echo "ok 2 python-snap7 active <-> plcio passive"

# 3. plcio <-> plcio, a 60000-byte block in fragments both ways
start p3 "$BIN" partner --passive 127.0.0.1:0 --pdu 240 --send "$R1:@$TMP/large.bin" --recv --count 1 --seconds 20 --json
PL=$LAST; P=$(port_of p3); [ -n "$P" ] || fail "plcio passive did not start"
"$BIN" partner --active "127.0.0.1:$P" --send "$R3:@$TMP/large.bin" --recv --count 1 --seconds 20 --json \
  > "$TMP/a3.out" 2> "$TMP/a3.err" || fail "plcio active: $(cat "$TMP/a3.err")"
wait "$PL" || fail "plcio passive: $(cat "$TMP/p3.err")"
want_recv "$TMP/p3.out" "$R3" "$(hexof "$TMP/large.bin")"
want_recv "$TMP/a3.out" "$R1" "$(hexof "$TMP/large.bin")"
grep -q '"pdu":240' "$TMP/a3.out" || fail "the PDU size offered by the passive partner (240) was not taken"
echo "ok 3 plcio <-> plcio, fragmented 60000-byte blocks"

# 4. the partner goes away after the first fragment: not delivered
start py4 py passive "recv 1" "stop"
P=$(port_of py4); [ -n "$P" ] || fail "python-snap7 passive partner did not start"
if "$BIN" partner --active "127.0.0.1:$P" --send "$R1:@$TMP/large.bin" --seconds 20 > "$TMP/a4.out" 2> "$TMP/a4.err"; then
  fail "a block the partner did not take was reported sent: $(cat "$TMP/a4.out")"
fi
grep -q "sent" "$TMP/a4.out" && fail "plcio printed 'sent' for an undelivered block"
grep -q "R-ID $R1: not delivered" "$TMP/a4.err" || fail "no clear error for the lost block: $(cat "$TMP/a4.err")"
wait "$LAST"
echo "ok 4 partner gone mid-send: $(tail -1 "$TMP/a4.err")"

# 5. malformed BSend PDUs, then a good partner
start p5 "$BIN" partner --passive 127.0.0.1:0 --recv --count 1 --seconds 30 --json
PL=$LAST; P=$(port_of p5); [ -n "$P" ] || fail "plcio passive did not start"
for k in head short total; do
  py active "$P" "malformed $k" > "$TMP/py5$k.out" 2> "$TMP/py5$k.err" || fail "malformed $k: $(cat "$TMP/py5$k.err")"
done
py active "$P" "send $R2:$(hexof "$TMP/small.bin")" > "$TMP/py5.out" 2>&1 || fail "good partner after malformed ones"
wait "$PL" || fail "plcio passive after malformed PDUs: $(cat "$TMP/p5.err")"
want_recv "$TMP/p5.out" "$R2" "$(hexof "$TMP/small.bin")"
grep -q "variable head is not 12 06 13" "$TMP/p5.err" || fail "no clear error for a bad variable head"
grep -q "malformed S7 PDU" "$TMP/p5.err" || fail "no clear error for a bad data length"
grep -q "exceed the announced block length" "$TMP/p5.err" || fail "no clear error for a bad total length"
echo "ok 5 malformed BSend PDUs refused with a reason; next partner served"

# 6. Wireshark's S7 dissector as the judge of the frames: a fragmented block and
# its acks decode as "PBC BSEND/BRECV" with our R-ID, the first fragment
# carrying the block's length, and nothing malformed or warned about.
command -v tshark > /dev/null || fail "tshark missing (scripts/bootstrap.sh installs it)"
start p6 "$BIN" partner --passive 127.0.0.1:0 --recv --count 1 --seconds 20
PL=$LAST; P=$(port_of p6); [ -n "$P" ] || fail "plcio passive did not start"
start ts tshark -i lo -f "tcp port $P" -w "$TMP/cap.pcapng"
TS=$LAST
for _ in $(seq 200); do grep -q "Capture started" "$TMP/ts.err" && break; sleep 0.05; done
grep -q "Capturing on" "$TMP/ts.err" || fail "tshark cannot capture on lo (needs root or the wireshark group)"
"$BIN" partner --active "127.0.0.1:$P" --send "$R3:@$TMP/large.bin" --seconds 20 > "$TMP/a6.out" 2> "$TMP/a6.err" \
  || fail "plcio active: $(cat "$TMP/a6.err")"
wait "$PL" || fail "plcio passive: $(cat "$TMP/p6.err")"
tsr() { tshark -o tcp.analyze_sequence_numbers:FALSE -r "$TMP/cap.pcapng" -d "tcp.port==$P,tpkt" "$@" 2>/dev/null; }
RIDHEX=$(printf '0x%08x' "$R3")
frags() { tsr -Y "s7comm.pbc.req.bsend.r_id == $R3" -T fields -e s7comm.pbc.req.bsend.r_id | grep -c "^$RIDHEX"; }
# the capture is stopped once its file holds the whole exchange (dumpcap hands packets over in
# blocks, the last one when its timeout expires: a fixed pause can stop it before that)
for _ in $(seq 60); do [ "$(frags)" -ge 135 ] && break; sleep 0.5; done
kill -INT "$TS"; wait "$TS"
FRAGS=$(frags)
# 60000 bytes at PDU 480: 444 in the first fragment, 446 in each other: 135 fragments
[ "$FRAGS" -eq 135 ] || fail "tshark sees $FRAGS BSend fragments with R-ID $R3, want 135"
[ "$(tsr -Y "s7comm.pbc.req.bsend.len == 60000" | wc -l)" -eq 1 ] || fail "tshark: no first fragment with length 60000"
BAD=$(tsr -Y '(_ws.malformed || _ws.expert.severity >= warning) && !tcp.options.sack.dsack' | wc -l)
[ "$BAD" -eq 0 ] || fail "tshark finds $BAD malformed or warned frames: $(tsr -Y '_ws.malformed || _ws.expert.severity >= warning' | head -3)"
echo "ok 6 tshark decodes 135 BSend fragments of R-ID $R3, nothing malformed"
echo "PASS"
