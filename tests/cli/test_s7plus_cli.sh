#!/bin/sh
# plcio read/write with s7plus:// URLs against plcio sim s7 (S7CommPlus over TLS
# with the certificate the simulator writes out, and V1 with tls=0): values written
# over S7CommPlus read back over S7CommPlus and over classic S7 from the same
# memory; the errors: no CA, a wrong CA, a missing DB, an area S7CommPlus has not.
# usage: test_s7plus_cli.sh PLCIO_BIN
set -u
BIN=$1
TMP=$(mktemp -d)
SRV=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$TMP"; }
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

PLCIO_TEST_RUN=1 "$BIN" sim s7 --listen 127.0.0.1:0 --db 1:100 --seconds 120 \
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
echo "ok"
