#!/usr/bin/env bash
# LOGO! (docs/s7.md "LOGO!"): `plcio sim s7 --logo` as the LOGO!, python-snap7's
# Logo client (a foreign peer, tests/interop/logo/python_snap7_logo.py) and
# plcio's CLI and engine with logo:// URLs on it. Values are random per run.
# Checks: what python-snap7 writes (V, V.bit, VW, VD) plcio reads at the same
# V addresses, and the other way round; the engine (plcio sync logo://) serves
# them in shared memory; V memory ends at V849 for both clients; the LOGO!
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
SIM= ENG=
SHM=plcio_logo_$$
cleanup() {
  [ -n "$ENG" ] && kill "$ENG" 2>/dev/null && wait "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null && wait "$SIM" 2>/dev/null
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

# 3. the end of V memory: V849 is there, V850 / VW849 are not (python-snap7 gets the
#    LOGO!'s error; plcio refuses before sending)
py read V849 V850 VW849 > "$TMP/end"
grep -qx 'V849=[0-9]*' "$TMP/end" || fail "python-snap7 V849: $(cat "$TMP/end")"
grep -q '^V850=ERROR' "$TMP/end" || fail "python-snap7 V850 not refused: $(cat "$TMP/end")"
grep -q '^VW849=ERROR' "$TMP/end" || fail "python-snap7 VW849 not refused: $(cat "$TMP/end")"
expect_err() { # WANT_TEXT ARGS...: plcio exits non-zero and says WANT_TEXT
  local want=$1; shift
  "$BIN" "$@" > "$TMP/e" 2>&1 && fail "plcio $* succeeded: $(cat "$TMP/e")"
  grep -q -- "$want" "$TMP/e" || fail "plcio $*: expected '$want', got: $(cat "$TMP/e")"
}
expect_err "beyond the LOGO! V memory (V0..V849)" read "$URL" V850
expect_err "beyond the LOGO! V memory (V0..V849)" read "$URL" VD847
expect_err "beyond the LOGO! V memory" write "$URL" VW849=1
expect_err "bit 8 is out of range (0..7)" read "$URL" V10.8
expect_err "only X (bit) addresses take .bit" read "$URL" VW10.1
expect_err "a byte offset is missing" read "$URL" VW
expect_err "out of range" read "$URL" V99999999999
expect_err "unknown logo:// parameter 'rack'" read "$URL?rack=0" V10
expect_err "remote-tsap" read "$URL?remote-tsap=0x10000" V10
"$BIN" read "$URL" V849 > /dev/null 2>&1 || fail "plcio read V849"

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
"$BIN" sync "$URL" --tag "VW$((OFF + 2)):INT" --tag "V$((OFF + 1)).$BIT" --interval 20 --shm "$SHM" --quiet \
  > "$TMP/sync.out" 2> "$TMP/sync.err" &
ENG=$!
ok=
for _ in $(seq 600); do
  if "$BIN" shm "$SHM" --json > "$TMP/json" 2>/dev/null && grep -q '"quality":"good"' "$TMP/json"; then ok=1; break; fi
  sleep 0.05
done
[ -n "$ok" ] || fail "plcio sync logo:// gave no good values: $(cat "$TMP/json" "$TMP/sync.err" 2>/dev/null)"
grep -q "\"VW$((OFF + 2)):INT\":{\"value\":$W," "$TMP/json" || fail "engine VW: $(cat "$TMP/json")"
grep -q "\"V$((OFF + 1)).$BIT\":{\"value\":true," "$TMP/json" || fail "engine V.bit: $(cat "$TMP/json")"
echo "PASS: LOGO! ($OFF: $B $W $D; $O2: $B2 $W2 $D2)"
