#!/usr/bin/env bash
# LOGO! (docs/s7.md "LOGO!"): `plcio sim s7 --logo` as the LOGO!, python-snap7's
# Logo client (a foreign peer, tests/interop/logo/python_snap7_logo.py) and
# plcio's CLI and engine with logo:// URLs on it. Values are random per run.
# Checks: what python-snap7 writes (V, V.bit, VW, VD) plcio reads at the same
# V addresses, and the other way round; the engine (plcio sync logo://) serves
# them in shared memory; V memory ends at V1469 (0BA8) / V983 (0BA7) for both
# clients; the LOGO! address map names (I1, Q1, M1, AI1, AQ1, AM1, NI1, NQ1,
# NAI1, NAQ1) that plcio reads and writes are the V addresses python-snap7
# (which has no names) reads and writes, for --logo (0BA8) and --logo=0ba7
# with logo://...?model=0ba7; the inputs are refused on write; the LOGO!
# refuses a connection to any TSAP but 02.00; bad addresses and URL
# parameters give clear errors.
# usage: test_logo.sh PLCIO_BIN
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/python_snap7_logo.py"
SNAP7=${PLCIO_PYTHON_SNAP7:-$HERE/../../../../shared/peers/python-snap7}
if [ ! -f "$SNAP7/snap7/logo.py" ]; then
  echo "SKIP: python-snap7 not found (PLCIO_PYTHON_SNAP7 or ../shared/peers/python-snap7)"; exit 77
fi
TMP=$(mktemp -d)
SIM= SIM7= ENG=
SHM=plcio_logo_$$
cleanup() {
  [ -n "$ENG" ] && kill "$ENG" 2>/dev/null && wait "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
  [ -n "$SIM7" ] && kill "$SIM7" 2>/dev/null && wait "$SIM7" 2>/dev/null
  rm -f "/dev/shm/$SHM" "/dev/shm/$SHM.ring"
  rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; [ -f "$TMP/sim.err" ] && tail -5 "$TMP/sim.err"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
export PLCIO_TEST_RUN=${PLCIO_TEST_RUN:-1}

"$BIN" sim s7 --logo --listen 127.0.0.1:0 --seconds 120 > "$TMP/sim.out" 2> "$TMP/sim.err" &
SIM=$!
for _ in $(seq 600); do grep -q listening "$TMP/sim.out" && break; sleep 0.05; done
PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sim.out")
[ -n "$PORT" ] || fail "sim s7 --logo did not start: $(cat "$TMP/sim.out" "$TMP/sim.err")"
URL=logo://127.0.0.1:$PORT
py() { /usr/bin/python3 "$PEER" "$PORT" "$@"; }
py7() { /usr/bin/python3 "$PEER" "$PORT7" "$@"; }

r() { echo $(( (RANDOM << 15 | RANDOM) % $1 )); }
B=$(( $(r 255) + 1 )); BIT=$(r 8); W=$(( $(r 65536) - 32768 )); D=$(( $(r 2000000000) - 1000000000 ))
OFF=$(r 800)

# 1. python-snap7 writes, plcio reads
py write "V$OFF=$B" "V$((OFF + 1)).$BIT=1" "VW$((OFF + 2))=$W" "VD$((OFF + 4))=$D" || fail "python-snap7 Logo.write"
"$BIN" read "$URL" "V$OFF" "V$((OFF + 1)).$BIT" "VW$((OFF + 2)):INT" "VD$((OFF + 4)):DINT" "V$((OFF + 1))" \
  > "$TMP/read" 2>&1 || fail "plcio read: $(cat "$TMP/read")"
printf 'V%s = %s\nV%s.%s = true\nVW%s:INT = %s\nVD%s:DINT = %s\nV%s = %s\n' "$OFF" "$B" "$((OFF + 1))" "$BIT" \
  "$((OFF + 2))" "$W" "$((OFF + 4))" "$D" "$((OFF + 1))" "$((1 << BIT))" > "$TMP/want"
diff "$TMP/want" "$TMP/read" || fail "plcio read of what python-snap7 wrote differs"

# 2. plcio writes, python-snap7 reads (Logo.read: VW and VD signed)
B2=$(( $(r 255) + 1 )); W2=$(( $(r 65536) - 32768 )); D2=$(( $(r 2000000000) - 1000000000 ))
O2=$(( (OFF + 20) % 800 ))
"$BIN" write "$URL" "V$O2=$B2" "VW$((O2 + 2)):INT=$W2" "VD$((O2 + 4)):DINT=$D2" "V$((O2 + 8)).$BIT=true" \
  > "$TMP/w" 2>&1 || fail "plcio write: $(cat "$TMP/w")"
py read "V$O2" "VW$((O2 + 2))" "VD$((O2 + 4))" "V$((O2 + 8)).$BIT" "V$((O2 + 8)).$(( (BIT + 1) % 8 ))" > "$TMP/pyread" \
  || fail "python-snap7 Logo.read"
printf 'V%s=%s\nVW%s=%s\nVD%s=%s\nV%s.%s=1\nV%s.%s=0\n' "$O2" "$B2" "$((O2 + 2))" "$W2" "$((O2 + 4))" "$D2" \
  "$((O2 + 8))" "$BIT" "$((O2 + 8))" "$(( (BIT + 1) % 8 ))" > "$TMP/want2"
diff "$TMP/want2" "$TMP/pyread" || fail "python-snap7 read of what plcio wrote differs"

# 3. the end of V memory (0BA8: its address map ends at V1469): V1469 is there, V1470 /
#    VW1469 are not (python-snap7 gets the LOGO!'s error; plcio refuses before sending)
py read V1469 V1470 VW1469 > "$TMP/end"
grep -qx 'V1469=[0-9]*' "$TMP/end" || fail "python-snap7 V1469: $(cat "$TMP/end")"
grep -q '^V1470=ERROR' "$TMP/end" || fail "python-snap7 V1470 not refused: $(cat "$TMP/end")"
grep -q '^VW1469=ERROR' "$TMP/end" || fail "python-snap7 VW1469 not refused: $(cat "$TMP/end")"
expect_err() { # WANT_TEXT ARGS...: plcio exits non-zero and says WANT_TEXT
  local want=$1; shift
  "$BIN" "$@" > "$TMP/e" 2>&1 && fail "plcio $* succeeded: $(cat "$TMP/e")"
  grep -q -- "$want" "$TMP/e" || fail "plcio $*: expected '$want', got: $(cat "$TMP/e")"
}
expect_err "beyond the LOGO! V memory (V0..V1469)" read "$URL" V1470
expect_err "beyond the LOGO! V memory (V0..V1469)" read "$URL" VD1467
expect_err "beyond the LOGO! V memory" write "$URL" VW1469=1
expect_err "bit 8 is out of range (0..7)" read "$URL" V10.8
expect_err "only X (bit) addresses take .bit" read "$URL" VW10.1
expect_err "a byte offset is missing" read "$URL" VW
expect_err "out of range" read "$URL" V99999999999
expect_err "unknown logo:// parameter 'rack'" read "$URL?rack=0" V10
expect_err "remote-tsap" read "$URL?remote-tsap=0x10000" V10
"$BIN" read "$URL" V1469 > /dev/null 2>&1 || fail "plcio read V1469"

# 3b. the LOGO! 8 (0BA8) address map: names in plcio, V addresses in python-snap7.
#     The LOGO! writes its inputs: here python-snap7 plays that part.
IB=$(r 256); AI=$(( $(r 65536) - 32768 )); NAI=$(( $(r 65536) - 32768 ))
py write "V1024=$IB" "VW1046=$AI" "V1026.7=1" "V1246.0=1" "VW1262=$NAI" || fail "python-snap7 writes the inputs"
"$BIN" read "$URL" I1 I8 I24 AI8 NI1 NAI1 I1[8] > "$TMP/names" 2>&1 || fail "plcio read names: $(cat "$TMP/names")"
tf() { if [ $(( ($1 >> $2) & 1 )) = 1 ]; then echo true; else echo false; fi; }
list=$(for k in 0 1 2 3 4 5 6 7; do tf "$IB" $k; done | paste -sd, | sed 's/,/, /g')
printf 'I1 = %s\nI8 = %s\nI24 = true\nAI8 = %s\nNI1 = true\nNAI1 = %s\nI1[8] = [%s]\n' "$(tf "$IB" 0)" \
  "$(tf "$IB" 7)" "$AI" "$NAI" "$list" > "$TMP/want3"
diff "$TMP/want3" "$TMP/names" || fail "plcio names of the inputs python-snap7 wrote differ"
#     plcio writes outputs and flags by name; python-snap7 reads their V addresses
QN=$(( $(r 20) + 1 )); MN=$(( $(r 64) + 1 )); AQN=$(( $(r 8) + 1 )); AMN=$(( $(r 64) + 1 ))
NQN=$(( $(r 64) + 1 )); NAQN=$(( $(r 16) + 1 ))
AQV=$(( $(r 65536) - 32768 )); AMV=$(( $(r 65536) - 32768 )); NAQV=$(( $(r 65536) - 32768 ))
"$BIN" write "$URL" "Q$QN=true" "M$MN=true" "AQ$AQN=$AQV" "AM$AMN=$AMV" "NQ$NQN=true" "NAQ$NAQN=$NAQV" \
  > "$TMP/w3" 2>&1 || fail "plcio write names: $(cat "$TMP/w3")"
vbit() { echo "V$(( $1 + ($2 - 1) / 8 )).$(( ($2 - 1) % 8 ))"; } # BASE N: the V address of bit N
vword() { echo "VW$(( $1 + 2 * ($2 - 1) ))"; }                    # BASE N: the V address of word N
py read "$(vbit 1064 "$QN")" "$(vbit 1104 "$MN")" "$(vword 1072 "$AQN")" "$(vword 1118 "$AMN")" \
  "$(vbit 1390 "$NQN")" "$(vword 1406 "$NAQN")" > "$TMP/py3" || fail "python-snap7 read of the map"
printf '%s=1\n%s=1\n%s=%s\n%s=%s\n%s=1\n%s=%s\n' "$(vbit 1064 "$QN")" "$(vbit 1104 "$MN")" "$(vword 1072 "$AQN")" \
  "$AQV" "$(vword 1118 "$AMN")" "$AMV" "$(vbit 1390 "$NQN")" "$(vword 1406 "$NAQN")" "$NAQV" > "$TMP/want4"
diff "$TMP/want4" "$TMP/py3" || fail "python-snap7 reads other values at the V addresses of plcio's names"
#     python-snap7 writes Q1 via V1064.0; plcio reads it back as Q1
py write "V1064.0=1" "VW1072=-77" || fail "python-snap7 write V1064.0"
"$BIN" read "$URL" Q1 AQ1 > "$TMP/q1" 2>&1 || fail "plcio read Q1: $(cat "$TMP/q1")"
printf 'Q1 = true\nAQ1 = -77\n' | diff - "$TMP/q1" || fail "Q1/AQ1 written by python-snap7 at V1064.0/VW1072"
#     inputs are read-only; names outside the model's map are refused
expect_err "an input of the LOGO!, read-only" write "$URL" I1=true
expect_err "an input of the LOGO!, read-only" write "$URL" AI1=5
expect_err "an input of the LOGO!, read-only" write "$URL" NI1=true
expect_err "an input of the LOGO!, read-only" write "$URL" NAI1=5
expect_err "the LOGO! 0BA8 has inputs I1..I24" read "$URL" I25
expect_err "the LOGO! 0BA8 has outputs Q1..Q20" write "$URL" Q21=true
expect_err "a LOGO! name takes no .bit" read "$URL" Q1.0
expect_err "a 2-byte type" read "$URL" AM1:REAL
expect_err "model=0ba6: expected 0ba8" read "$URL?model=0ba6" I1
expect_err "unknown s7:// parameter 'model'" read "s7://127.0.0.1:$PORT?model=0ba7" DB1.DBB0
py read V1026.7 > "$TMP/i24" && grep -qx 'V1026.7=1' "$TMP/i24" || fail "the refused writes changed I24: $(cat "$TMP/i24")"

# 3c. a LOGO! 0BA7: sim s7 --logo=0ba7, logo://...?model=0ba7 (map at V923.., V memory V0..V983)
"$BIN" sim s7 --logo=0ba7 --listen 127.0.0.1:0 --seconds 120 > "$TMP/sim7.out" 2> "$TMP/sim7.err" &
SIM7=$!
for _ in $(seq 100); do grep -q listening "$TMP/sim7.out" && break; sleep 0.05; done
PORT7=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sim7.out")
[ -n "$PORT7" ] || fail "sim s7 --logo=0ba7 did not start: $(cat "$TMP/sim7.out" "$TMP/sim7.err")"
URL7="logo://127.0.0.1:$PORT7?model=0ba7"
IB7=$(r 256); AI7=$(( $(r 65536) - 32768 ))
py7 write "V923=$IB7" "VW940=$AI7" || fail "python-snap7 writes the 0BA7 inputs"
"$BIN" read "$URL7" I1 I8 AI8 > "$TMP/n7" 2>&1 || fail "plcio read 0BA7 names: $(cat "$TMP/n7")"
printf 'I1 = %s\nI8 = %s\nAI8 = %s\n' "$(tf "$IB7" 0)" "$(tf "$IB7" 7)" "$AI7" | diff - "$TMP/n7" \
  || fail "plcio 0BA7 names of the inputs python-snap7 wrote differ"
Q7=$(( $(r 16) + 1 )); M7=$(( $(r 27) + 1 )); AQ7=$(( $(r 2) + 1 )); AM7=$(( $(r 16) + 1 ))
"$BIN" write "$URL7" "Q$Q7=true" "M$M7=true" "AQ$AQ7=$AQV" "AM$AM7=$AMV" > "$TMP/w7" 2>&1 \
  || fail "plcio write 0BA7 names: $(cat "$TMP/w7")"
py7 read "$(vbit 942 "$Q7")" "$(vbit 948 "$M7")" "$(vword 944 "$AQ7")" "$(vword 952 "$AM7")" V983 V984 > "$TMP/py7" \
  || fail "python-snap7 read of the 0BA7 map"
printf '%s=1\n%s=1\n%s=%s\n%s=%s\n' "$(vbit 942 "$Q7")" "$(vbit 948 "$M7")" "$(vword 944 "$AQ7")" "$AQV" \
  "$(vword 952 "$AM7")" "$AMV" > "$TMP/want7"
grep -v '^V98[34]=' "$TMP/py7" | diff "$TMP/want7" - || fail "python-snap7 reads other values at the 0BA7 V addresses"
# V983 is the last byte (AM16's low byte: written when AM7 is 16)
grep -qx 'V983=[0-9]*' "$TMP/py7" || fail "python-snap7 V983 on a 0BA7: $(cat "$TMP/py7")"
grep -q '^V984=ERROR' "$TMP/py7" || fail "python-snap7 V984 on a 0BA7 not refused: $(cat "$TMP/py7")"
expect_err "beyond the LOGO! V memory (V0..V983)" read "$URL7" V984
expect_err "the LOGO! 0BA7 has outputs Q1..Q16" read "$URL7" Q17
expect_err "the LOGO! 0BA7 has flags M1..M27" read "$URL7" M28
expect_err "0BA7 address map has no network inputs" read "$URL7" NI1
expect_err "an input of the LOGO!, read-only" write "$URL7" I1=true

# 4. TSAPs: the LOGO! answers 02.00 only (both clients)
[ "$(py connect 0200)" = connected ] || fail "python-snap7 to TSAP 02.00 refused"
py connect 0301 | grep -q '^refused' || fail "python-snap7 to TSAP 03.01 connected"
expect_err "closed the connection" read "s7://127.0.0.1:$PORT" DB1.DBB0
expect_err "closed the connection" read "$URL?remote-tsap=0x0100" V0
"$BIN" read "s7://127.0.0.1:$PORT?remote-tsap=0x0200" "DB1.DBB$OFF" > "$TMP/s7" 2>&1 || fail "s7:// with TSAP 02.00"
grep -qx "DB1.DBB$OFF = $B" "$TMP/s7" || fail "s7:// DB1.DBB$OFF: $(cat "$TMP/s7")"
# a LOGO! has no other DB
expect_err "" read "s7://127.0.0.1:$PORT?remote-tsap=0x0200" DB2.DBB0

# 5. the engine: plcio sync logo:// into shared memory
"$BIN" sync "$URL" --tag "VW$((OFF + 2)):INT" --tag "V$((OFF + 1)).$BIT" --tag I24 --tag AI8 --tag "AQ$AQN" \
  --interval 20 --shm "$SHM" --quiet --writable > "$TMP/sync.out" 2> "$TMP/sync.err" &
ENG=$!
ok=
for _ in $(seq 600); do
  if "$BIN" shm "$SHM" --json > "$TMP/json" 2>/dev/null && grep -q '"quality":"good"' "$TMP/json"; then ok=1; break; fi
  sleep 0.05
done
[ -n "$ok" ] || fail "plcio sync logo:// gave no good values: $(cat "$TMP/json" "$TMP/sync.err" 2>/dev/null)"
grep -q "\"VW$((OFF + 2)):INT\":{\"value\":$W," "$TMP/json" || fail "engine VW: $(cat "$TMP/json")"
grep -q "\"V$((OFF + 1)).$BIT\":{\"value\":true," "$TMP/json" || fail "engine V.bit: $(cat "$TMP/json")"
grep -q '"I24":{"value":true,' "$TMP/json" || fail "engine I24: $(cat "$TMP/json")"
grep -q "\"AI8\":{\"value\":$AI," "$TMP/json" || fail "engine AI8: $(cat "$TMP/json")"
AQNOW=$AQV; [ "$AQN" = 1 ] && AQNOW=-77 # python-snap7 wrote VW1072 (AQ1) after plcio in 3b
grep -q "\"AQ$AQN\":{\"value\":$AQNOW," "$TMP/json" || fail "engine AQ$AQN: $(cat "$TMP/json")"
#    writes through the ring: an output goes to the LOGO!, an input is refused
"$BIN" shm "$SHM" --write "AQ$AQN=$W" --timeout 5000 > "$TMP/sw" 2>&1 || fail "shm write AQ$AQN: $(cat "$TMP/sw")"
py read "$(vword 1072 "$AQN")" | grep -qx "$(vword 1072 "$AQN")=$W" || fail "engine write of AQ$AQN did not reach V"
"$BIN" shm "$SHM" --write I24=false --timeout 5000 > "$TMP/sw" 2>&1 && fail "shm write I24 accepted: $(cat "$TMP/sw")"
grep -q "an input of the LOGO!, read-only" "$TMP/sw" || fail "shm write I24: $(cat "$TMP/sw")"
echo "PASS: LOGO! ($OFF: $B $W $D; $O2: $B2 $W2 $D2)"
