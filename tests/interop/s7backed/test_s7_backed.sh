#!/usr/bin/env bash
# S7 server ranges backed by a remote device (docs/s7-server.md "Backed
# ranges"): `plcio sim s7 --backed` in front of a second `plcio sim s7` (the
# remote), read and written by python-snap7's client (a foreign peer,
# snap7_backed.py). Values are random per run and checked on the remote.
# Checks: 1. reads through DB10 (backed by the remote's DB1) give the remote's
# bytes, also after the remote changed them (max-age 0: every read asks).
# 2. write-through: a write through DB10 lands in the remote's DB1. 3. a cached
# range (M, max-age 10 min) keeps answering the bytes fetched first although the
# remote changed them; writes to it are refused (no write-through), the remote
# unchanged. 4. one multi-item read mixes backed, cached and local items, each
# right. 5. bad requests: partly backed, past the area, a DB that does not
# exist; plcio's client reading one good and one bad item gets one value and one
# error; by hand: an answer past the PDU, 21 items, truncated parameters (0x8500). 6. the remote killed: backed items answer a hardware fault (never the
# old bytes), the cached range and local DBs still answer; a write fails and is
# not acknowledged. 7. the remote restarted on its port: good again.
# 8. serve-stale=1: with the remote down, the bytes fetched before. 9. bad
# --backed specs: usage errors naming the fault.
# usage: test_s7_backed.sh PLCIO_BIN
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
PEER="$HERE/snap7_backed.py"
SNAP7=${PLCIO_PYTHON_SNAP7:-$HERE/../../../../shared/peers/python-snap7}
if [ ! -f "$SNAP7/snap7/client.py" ]; then
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
start() { local n=$1; shift; "$@" > "$TMP/$n.out" 2> "$TMP/$n.err" & PIDS="$PIDS $!"; LAST=$!; }
port_of() {
  for _ in $(seq 200); do grep -q listening "$TMP/$1.out" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/$1.out" | head -1
}
rhex() { od -An -v -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }
# want WHAT GOT EXPECTED
want() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# want_err WHAT GOT PATTERN
want_err() { shopt -s nocasematch; case "$2" in ERR*$3*) ;; *) fail "$1: got '$2', want an error with '$3'";; esac; }

start_remote() { # [PORT]
  start remote "$BIN" sim s7 --listen "127.0.0.1:${1:-0}" --no-s7plus --db 1:200 --seconds 150
  REMOTE=$LAST; RP=$(port_of remote); [ -n "$RP" ] || fail "remote simulator did not start"
}
start_remote
SEED=$(rhex 200)
want "seed the remote" "$(py write "$RP" DB 1 0 "$SEED")" OK
URL="s7://127.0.0.1:$RP"
start backed "$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --seconds 150 --db 20:8 --db 30:100 \
  --backed "DB10:0:100=$URL?remote=DB1:0&write-through=1&timeout=1000" \
  --backed "M:0:16=$URL?remote=DB1:100&max-age=600000" \
  --backed "DB30:10:20=$URL?remote=DB1:120" \
  --backed "DB40:0:16=$URL?remote=DB1:150&serve-stale=1&timeout=1000"
BP=$(port_of backed); [ -n "$BP" ] || fail "backed simulator did not start"

# 1. reads through the backed range, live
want "read DB10 through the backed range" "$(py read "$BP" DB 10 0 100)" "${SEED:0:200}"
NEW=$(rhex 8)
want "change the remote" "$(py write "$RP" DB 1 40 "$NEW")" OK
want "read DB10 after the remote changed" "$(py read "$BP" DB 10 40 8)" "$NEW"
echo "ok 1 reads through the backed range"

# 2. write-through
W=$(rhex 6)
want "write DB10 through" "$(py write "$BP" DB 10 20 "$W")" OK
want "the remote has the write" "$(py read "$RP" DB 1 20 6)" "$W"
want "read back through" "$(py read "$BP" DB 10 20 6)" "$W"
echo "ok 2 write-through lands on the remote"

# 3. a cached range (max-age 10 min: longer than the whole test) and a read-only one
M0=${SEED:200:32}
want "read M through the cached range" "$(py read "$BP" M 0 0 16)" "$M0"
want "change the remote under the cache" "$(py write "$RP" DB 1 100 "$(rhex 4)")" OK
want "cached M answers the bytes fetched" "$(py read "$BP" M 0 0 16)" "$M0"
want_err "write to a range without write-through" "$(py write "$BP" M 0 0 ffff)" "0x03"
R100=$(py read "$RP" DB 1 100 2)
[ "$R100" != ffff ] || fail "the refused write reached the remote"
echo "ok 3 cache age limit and read-only range"

# 4. one multi-item read: backed, cached, local
want "write local DB20" "$(py write "$BP" DB 20 0 "a1b2c3d4")" OK
REM=$(py read "$RP" DB 1 60 4)
want "multi-item read" "$(py multi "$BP" DB:10:60:4 M:0:4:4 DB:20:0:4)" "$REM ${M0:8:8} a1b2c3d4"
echo "ok 4 multi-item read mixing backed, cached and local items"

# 5. bad requests
want_err "read partly inside a backed range" "$(py read "$BP" DB 30 0 20)" "0x05"
want "read DB30 outside its backed part" "$(py read "$BP" DB 30 0 10)" "00000000000000000000"
want "read DB30's backed part" "$(py read "$BP" DB 30 10 4)" "${SEED:240:8}"
want_err "read past the backed area" "$(py read "$BP" DB 10 90 20)" "0x05"
want_err "read a DB that does not exist" "$(py read "$BP" DB 11 0 4)" "0x0A"
want_err "write partly inside a backed range" "$(py write "$BP" DB 30 8 00000000)" "0x05"
"$BIN" read "s7://127.0.0.1:$BP" DB10.DBW0:WORD DB30.DBW9:WORD > "$TMP/items.txt" 2> "$TMP/items.err"
grep -q "^DB10.DBW0:WORD = " "$TMP/items.txt" || fail "plcio read: the good item has no value"
grep -q "DB30.DBW9:WORD: .*out of range" "$TMP/items.err" || fail "plcio read: the partly backed item is no error: $(cat "$TMP/items.err")"
want "oversized, too many items, truncated (by hand)" "$(py raw "$BP" 10)" "big=8500 many=8500 short=8500"
want "still served after the bad requests" "$(py read "$BP" DB 10 0 4)" "$(py read "$RP" DB 1 0 4)"
echo "ok 5 bad requests answered per item"

# 8 (first half). serve-stale: fetch once while the remote is up
S40=$(py read "$BP" DB 40 0 16)
want "read DB40 (serve-stale) while up" "$S40" "${SEED:300:32}"

# 6. the remote killed
kill "$REMOTE"; wait "$REMOTE" 2>/dev/null
want_err "read DB10 with the remote down" "$(py read "$BP" DB 10 0 4)" "0x01"
want_err "write DB10 with the remote down" "$(py write "$BP" DB 10 0 0000)" "0x01"
want "cached M with the remote down" "$(py read "$BP" M 0 0 16)" "$M0"
want "local DB20 with the remote down" "$(py read "$BP" DB 20 0 4)" "a1b2c3d4"
want "serve-stale DB40 with the remote down" "$(py read "$BP" DB 40 0 16)" "$S40"
echo "ok 6 remote down: item errors, never old bytes (unless serve-stale)"
echo "ok 8 serve-stale answers the bytes fetched before"

# 7. the remote back on its port
start_remote "$RP"
SEED2=$(rhex 100)
want "seed the restarted remote" "$(py write "$RP" DB 1 0 "$SEED2")" OK
GOT=
for _ in $(seq 100); do # the link reopens at a request, at most once per 500 ms
  GOT=$(py read "$BP" DB 10 0 100)
  [ "$GOT" = "$SEED2" ] && break
  sleep 0.1
done
want "read DB10 after the remote came back" "$GOT" "$SEED2"
echo "ok 7 remote restarted: good again"

# 9. bad --backed specs
usage() { # PATTERN SPEC
  "$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --seconds 1 --backed "$2" > "$TMP/u.out" 2> "$TMP/u.err"
  local st=$?
  [ $st = 2 ] || fail "--backed $2: exit $st, want 2"
  grep -q -- "$1" "$TMP/u.err" || fail "--backed $2: '$(cat "$TMP/u.err")' does not say '$1'"
}
usage "want AREA:START:SIZE=URL" "DB10:0:100"
usage "is not DBn, M, I or Q" "T:0:10=s7://127.0.0.1:1"
usage "is not DBn, M, I or Q" "DB0:0:10=s7://127.0.0.1:1"
usage "START:SIZE" "DB10:0:0=s7://127.0.0.1:1"
usage "START:SIZE" "DB10:65000:1000=s7://127.0.0.1:1"
usage "max-age" "DB10:0:10=s7://127.0.0.1:1?max-age=x"
usage "remote= wants" "DB10:0:10=s7://127.0.0.1:1?remote=DB1"
usage "remote bytes" "DB10:0:100=s7://127.0.0.1:1?remote=DB1:65500"
# oversized: a head past 64 bytes, a parameter past 64, a URL past 1024 (the parser of sim_backed.c)
X70=$(printf 'x%.0s' $(seq 70)); Y1100=$(printf 'y%.0s' $(seq 1100))
usage "want AREA:START:SIZE=URL" "DB10:0:$X70=s7://127.0.0.1:1"
usage "parameter too long" "DB10:0:10=s7://127.0.0.1:1?max-age=$X70"
usage "want AREA:START:SIZE=URL" "DB10:0:10=s7://127.0.0.1:1/$Y1100"
"$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --seconds 1 --backed "DB10:0:100=s7://127.0.0.1:1" \
  --backed "DB10:50:10=s7://127.0.0.1:1" > "$TMP/u.out" 2> "$TMP/u.err"
[ $? = 2 ] && grep -q overlaps "$TMP/u.err" || fail "overlapping --backed: $(cat "$TMP/u.err")"
"$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --seconds 1 --db 10:10 --backed "DB10:0:100=s7://127.0.0.1:1" \
  > "$TMP/u.out" 2> "$TMP/u.err"
[ $? = 2 ] && grep -q "the area has 10 bytes" "$TMP/u.err" || fail "--backed past --db: $(cat "$TMP/u.err")"
"$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --seconds 1 --threads 2 --backed "DB10:0:10=s7://127.0.0.1:1" \
  > "$TMP/u.out" 2> "$TMP/u.err"
[ $? = 2 ] && grep -q "one thread" "$TMP/u.err" || fail "--backed with --threads: $(cat "$TMP/u.err")"
echo "ok 9 bad --backed specs"
echo "all ok"
