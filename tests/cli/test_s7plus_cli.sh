#!/bin/sh
# plcio read/write/watch/info with s7plus:// URLs against plcio sim s7 (S7CommPlus
# over TLS with the certificate the simulator writes out, and V1 with tls=0): values
# written over S7CommPlus read back over S7CommPlus and over classic S7 from the same
# memory; the errors: no CA, a wrong CA, a missing DB, an area S7CommPlus has not.
# s7://...?protocol=plus|auto|classic: the same values through each; auto falls back
# to classic S7 (saying why) when S7CommPlus cannot be had.
# usage: test_s7plus_cli.sh PLCIO_BIN
set -u
BIN=$1
TMP=$(mktemp -d)
SRV=
SRV2=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; [ -n "$SRV2" ] && kill "$SRV2" 2>/dev/null; rm -rf "$TMP"; }
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

PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --db 1:100 --db 7:10 --seconds 120 \
  --s7plus-cert-out "$TMP/sim.pem" > "$TMP/sim.out" 2>&1 &
SRV=$!
i=0
while ! grep -q listening "$TMP/sim.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "simulator did not start: $(cat "$TMP/sim.out")"; sleep 0.1
done
grep -q '^s7plus: TLS certificate SHA256:[0-9A-F:]*' "$TMP/sim.out" || fail "no fingerprint: $(cat "$TMP/sim.out")"
PORT=$(sed -n 's/^listening on 127.0.0.1://p' "$TMP/sim.out")
URL="s7plus://127.0.0.1:$PORT?ca=$TMP/sim.pem"

expect 0 "" "$BIN" write "$URL" DB1.DBD4:REAL=3.25 DB1.DBX0.3=true MW10:INT=-7 "DB1.DBB20:STRING[10]=hello"
expect 0 '"DB1.DBD4:REAL": 3.25, "DB1.DBX0.3": true, "MW10:INT": -7, "DB1.DBB20:STRING\[10\]": "hello"' \
  "$BIN" read "$URL" DB1.DBD4:REAL DB1.DBX0.3 MW10:INT "DB1.DBB20:STRING[10]" --json
# the same memory over classic S7
expect 0 'DB1.DBD4:REAL = 3.25' "$BIN" read "s7://127.0.0.1:$PORT" DB1.DBD4:REAL
expect 0 'MW10:INT = -7' "$BIN" read "s7://127.0.0.1:$PORT" MW10:INT
# a bit write leaves its neighbours alone
expect 0 "" "$BIN" write "s7plus://127.0.0.1:$PORT?tls=0" DB1.DBX0.0=true
expect 0 'DB1.DBB0 = 9' "$BIN" read "s7plus://127.0.0.1:$PORT?tls=0" DB1.DBB0
# errors: one line that says what failed and why
expect 2 "needs the PLC's CA certificate" "$BIN" read "s7plus://127.0.0.1:$PORT" DB1.DBB0
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/k.pem" -out "$TMP/other.pem" -days 2 -subj /CN=x \
  > /dev/null 2>&1 || fail "openssl req"
expect 1 "certificate not trusted" "$BIN" read "s7plus://127.0.0.1:$PORT?ca=$TMP/other.pem" DB1.DBB0
expect 1 "refused the item" "$BIN" read "$URL" DB9.DBB0
expect 2 "S7CommPlus reads single values of DB, M, I and Q" "$BIN" read "$URL" T5
expect 2 "unknown parameter" "$BIN" read "s7plus://127.0.0.1:$PORT?bogus=1" DB1.DBB0

# info: TLS, CPU state, protection level, the DBs (the simulator has DB1 and DB7)
expect 0 "" "$BIN" info "$URL"
grep -q '^tls  *TLSv1.3$' "$TMP/out" || fail "info: $(cat "$TMP/out")"
grep -q '^state  *RUN (raw 3)$' "$TMP/out" || fail "info state: $(cat "$TMP/out")"
grep -q '^protection_level  *1$' "$TMP/out" || fail "info protection: $(cat "$TMP/out")"
grep -q '^dbs  *1 7$' "$TMP/out" || fail "info dbs: $(cat "$TMP/out")"
# the CPU stopped over classic S7: S7CommPlus sees it too
expect 0 "" "$BIN" control "s7://127.0.0.1:$PORT" stop
expect 0 '"state": "STOP", "state_raw": 1, "protection_level": 1, "dbs": \[1, 7\], "refused": {}' \
  "$BIN" info --json "s7://127.0.0.1:$PORT?protocol=plus&ca=$TMP/sim.pem"
expect 0 "" "$BIN" control "s7://127.0.0.1:$PORT" hot-start
expect 0 '"state": "RUN"' "$BIN" info --json "s7plus://127.0.0.1:$PORT?tls=0"

# watch: the values, then only what changed; a failed item is named, exit 1 with --count
expect 0 "" "$BIN" write "$URL" DB7.DBW2:INT=11
expect 0 "" "$BIN" watch "$URL" DB7.DBW2:INT DB1.DBD4:REAL --count 2 --interval 50
[ "$(cat "$TMP/out")" = "DB7.DBW2:INT = 11
DB1.DBD4:REAL = 3.25" ] || fail "watch printed: $(cat "$TMP/out")"
expect 1 'DB9.DBW0": {"error": "the PLC refused the item' \
  "$BIN" watch --json "s7://127.0.0.1:$PORT?protocol=plus&tls=0" DB7.DBW2:INT DB9.DBW0 --count 1
grep -q '"DB7.DBW2:INT": 11' "$TMP/out" || fail "watch --json: $(cat "$TMP/out")"
expect 2 "unknown option '--layout'" "$BIN" watch "$URL" DB7.DBW2:INT --layout x.yaml
# watch --subscribe: all values first, then what a classic S7 write changed (the PLC sends it)
"$BIN" watch "$URL" DB7.DBW2:INT MW10:INT DB9.DBB0 --subscribe --interval 20 --count 2 > "$TMP/sub.out" 2> "$TMP/sub.err" &
W=$!
i=0
while ! grep -q 'MW10:INT = -7' "$TMP/sub.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && { kill $W; fail "watch --subscribe: no first values: $(cat "$TMP/sub.out" "$TMP/sub.err")"; }; sleep 0.1
done
expect 0 "" "$BIN" write "s7://127.0.0.1:$PORT" MW10:INT=4242
wait $W; st=$?
[ "$st" = 1 ] || fail "watch --subscribe: exit $st (wanted 1: DB9 failed): $(cat "$TMP/sub.out" "$TMP/sub.err")"
[ "$(cat "$TMP/sub.out")" = "DB7.DBW2:INT = 11
MW10:INT = -7
MW10:INT = 4242" ] || fail "watch --subscribe printed: $(cat "$TMP/sub.out")"
grep -q "read DB9.DBB0: the PLC refused the item (error 0x13)" "$TMP/sub.err" || fail "watch --subscribe: $(cat "$TMP/sub.err")"
expect 2 "unknown option '--subscribe'" "$BIN" watch "s7://127.0.0.1:$PORT" MW10:INT --subscribe

# s7://...?protocol=: plus and auto speak S7CommPlus, classic (and no protocol=) classic S7
expect 0 'DB7.DBW2:INT = 11' "$BIN" read "s7://127.0.0.1:$PORT?protocol=plus&ca=$TMP/sim.pem" DB7.DBW2:INT
expect 0 'DB7.DBW2:INT = 11' "$BIN" read "s7://127.0.0.1:$PORT?protocol=auto&ca=$TMP/sim.pem&slot=1" DB7.DBW2:INT
grep -q 'protocol=auto' "$TMP/err" && fail "auto fell back: $(cat "$TMP/err")"
expect 0 'DB7.DBW2:INT = 11' "$BIN" read "s7://127.0.0.1:$PORT?protocol=classic&slot=1" DB7.DBW2:INT
# auto without a CA does not try S7CommPlus unverified: classic S7, and it says why
expect 0 'DB7.DBW2:INT = 11' "$BIN" read "s7://127.0.0.1:$PORT?protocol=auto" DB7.DBW2:INT
grep -q "protocol=auto: S7CommPlus not used (s7plus: TLS needs the PLC's CA" "$TMP/err" || fail "auto: $(cat "$TMP/err")"
expect 2 "protocol=bogus: use classic, plus or auto" "$BIN" read "s7://127.0.0.1:$PORT?protocol=bogus" DB1.DBB0
expect 2 "speaks classic S7 only" "$BIN" szl "s7://127.0.0.1:$PORT?protocol=plus" 0x0424
expect 2 "unknown parameter protocol" "$BIN" read "s7plus://127.0.0.1:$PORT?protocol=plus" DB1.DBB0

# a PLC without S7CommPlus (the simulator with --no-s7plus): auto falls back, plus fails clearly
PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --db 1:100 --seconds 120 --no-s7plus > "$TMP/sim2.out" 2>&1 &
SRV2=$!
i=0
while ! grep -q listening "$TMP/sim2.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "simulator 2 did not start: $(cat "$TMP/sim2.out")"; sleep 0.1
done
PORT2=$(sed -n 's/^listening on 127.0.0.1://p' "$TMP/sim2.out")
expect 0 "" "$BIN" write "s7://127.0.0.1:$PORT2" DB1.DBW0:INT=-5
expect 0 'DB1.DBW0:INT = -5' "$BIN" read "s7://127.0.0.1:$PORT2?protocol=auto&insecure=1&timeout=2000" DB1.DBW0:INT
grep -q 'protocol=auto: S7CommPlus not used' "$TMP/err" || fail "auto on a classic-only PLC: $(cat "$TMP/err")"
expect 1 "" "$BIN" read "s7://127.0.0.1:$PORT2?protocol=plus&insecure=1&timeout=2000" DB1.DBW0:INT
echo "ok"
