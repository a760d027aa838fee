#!/bin/sh
# Modbus/TCP Security (modbus-tls://, plcio sim modbus --tls) against real peers:
# openssl s_client, pymodbus 3.0's TLS client and server (Debian python3-pymodbus,
# /usr/bin/python3), and plcio's own client and engine. Certificates are made here,
# at run time, with openssl: a CA, the server (SAN IP:127.0.0.1, DNS:localhost),
# clients with the role extension (1.3.6.1.4.1.50316.802.1, UTF8String "operator" /
# "viewer"), one without a role, one expired, one from another CA.
# Checks: mutual authentication both ways; the role reaches the server and a write
# from a read-only role is answered with exception 01; every refusal (no client
# certificate, expired, unknown CA, wrong server CA, wrong server name, plain TCP
# to the TLS port, TLS to a plain port) is one line naming the cause, and the server
# goes on serving the others.
# usage: test_modbus_tls.sh PLCIO_BIN PEER_DIR
set -u
BIN=$1
PEERS=$2
PY=/usr/bin/python3
TMP=$(mktemp -d)
SIM= PSRV= PLAIN= SYNC=
cleanup() {
  for p in $SIM $PSRV $PLAIN $SYNC; do kill "$p" 2>/dev/null; done
  rm -rf "$TMP" "/dev/shm/plcio-mbtls-$$" "/dev/shm/plcio-mbtls-$$.ring"
}
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"
export PLCIO_TEST_RUN="${PLCIO_TEST_RUN:-1}"

command -v openssl > /dev/null || { echo "SKIP: openssl not installed (scripts/bootstrap.sh installs it)"; exit 77; }
"$PY" -c 'import pymodbus.client, pymodbus.server' 2> /dev/null ||
  { echo "SKIP: pymodbus for /usr/bin/python3 missing (scripts/bootstrap.sh installs python3-pymodbus)"; exit 77; }

# ---- certificates ----
C=$TMP/certs
ROLE=1.3.6.1.4.1.50316.802.1
sh "$PEERS/make_tls_certs.sh" "$C" || fail "cannot make the test certificates"
openssl x509 -in "$C/operator.pem" -noout -text | grep -q "$ROLE" || fail "no role extension in operator.pem"

# ---- plcio's TLS server ----
"$BIN" sim modbus --tls 127.0.0.1:0 --ca "$C/ca.pem" --cert "$C/server.pem" --key "$C/server.key" \
  --tls-write-role operator --seconds 240 > "$TMP/sim" 2>&1 &
SIM=$!
wait_listen "$TMP/sim"
P=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\) (tls)$/\1/p' "$TMP/sim")
[ -n "$P" ] || fail "sim prints no TLS port: $(cat "$TMP/sim")"
U="modbus-tls://127.0.0.1:$P?ca=$C/ca.pem"
OP="$U&cert=$C/operator.pem&key=$C/operator.key"
VI="$U&cert=$C/viewer.pem&key=$C/viewer.key"

# plcio client, operator role: writes and reads back (blocking client)
expect 0 "" "$BIN" write "$OP" "hr10[3]=11,12,13" hr20:REAL=2.5
expect 0 'hr10\[3\] = \[11, 12, 13\]' "$BIN" read "$OP" "hr10[3]"
expect 0 'hr20:REAL = 2.5' "$BIN" read "$OP" hr20:REAL
# viewer role: reads, and its write is refused with exception 01 (illegal function),
# as the Modbus/TCP Security specification asks for an unauthorized request
expect 0 'hr10 = 11' "$BIN" read "$VI" hr10
expect 1 "write hr10: illegal function" "$BIN" write "$VI" hr10=99
wait_grep "$TMP/sim" "refused write single register (FC 6) for unit 1 from 127.0.0.1:[0-9]* (role 'viewer'): exception 01" "the server did not log the refused write"
expect 0 'hr10 = 11' "$BIN" read "$OP" hr10
# a certificate without a role: authenticated (reads), but no write
expect 0 'hr10 = 11' "$BIN" read "$U&cert=$C/norole.pem&key=$C/norole.key" hr10
expect 1 "illegal function" "$BIN" write "$U&cert=$C/norole.pem&key=$C/norole.key" hr10=1
wait_grep "$TMP/sim" "role ''" "no empty role logged"
# info (FC 43/14) and watch take modbus-tls URLs too
expect 0 "VendorName  *plcio" "$BIN" info "$OP"
expect 0 "hr11 = 12" "$BIN" watch "$VI" hr11 --count 1

# refusals: one line naming the cause on the client, and on the server
expect 1 "the peer refused our certificate (tlsv13 alert certificate required)" "$BIN" read "$U" hr10
wait_grep "$TMP/sim" "refused (handshake): the client sent no certificate" "server log"
expect 1 "the peer refused our certificate (sslv3 alert certificate expired)" \
  "$BIN" read "$U&cert=$C/expired.pem&key=$C/expired.key" hr10
wait_grep "$TMP/sim" "client certificate refused: certificate has expired" "server log"
expect 1 "the peer refused our certificate (tlsv1 alert unknown ca)" \
  "$BIN" read "$U&cert=$C/stranger.pem&key=$C/stranger.key" hr10
wait_grep "$TMP/sim" "client certificate refused: unable to get local issuer certificate" "server log"
expect 1 "server certificate refused: self-signed certificate in certificate chain" \
  "$BIN" read "modbus-tls://127.0.0.1:$P?ca=$C/other-ca.pem&cert=$C/operator.pem&key=$C/operator.key" hr10
expect 1 "server certificate refused: hostname mismatch" "$BIN" read "$OP&server-name=plc7.example" hr10
# the DNS name of the certificate (SAN DNS:localhost) checked; connected to 127.0.0.1 only
# (a fresh machine may resolve localhost to ::1 first, where nothing listens)
expect 0 "hr10 = 11" "$BIN" read "$OP&server-name=localhost" hr10
# verify-name=0 keeps the CA check; insecure=1 checks nothing (any server certificate)
expect 0 "hr10 = 11" "$BIN" read "$OP&server-name=plc7.example&verify-name=0" hr10
expect 1 "server certificate refused" \
  "$BIN" read "modbus-tls://127.0.0.1:$P?ca=$C/other-ca.pem&verify-name=0&cert=$C/operator.pem&key=$C/operator.key" hr10
expect 0 "hr10 = 11" "$BIN" read "modbus-tls://127.0.0.1:$P?insecure=1&cert=$C/operator.pem&key=$C/operator.key" hr10
# a role extension that is not a UTF8String: the server refuses the connection
expect 1 "closed the TLS connection before any answer" "$BIN" read "$U&cert=$C/badrole.pem&key=$C/badrole.key" hr10
wait_grep "$TMP/sim" "the certificate's role extension ($ROLE) is not a printable ASN.1 UTF8String" "server log for a bad role"
# plain Modbus/TCP to the TLS port: the server names it
expect 1 "" "$BIN" read "modbus-tcp://127.0.0.1:$P" hr10
# (the server sends its alert before it logs: waited for, the client may be done first)
wait_grep "$TMP/sim" "refused: not TLS: the peer's first byte is 0x[0-9a-f]*, not a TLS record (plain Modbus/TCP on a TLS port?)" \
  "server log for plain TCP"
# bad URLs and files
expect 2 "needs ca=FILE" "$BIN" read "modbus-tls://127.0.0.1:$P" hr10
expect 2 "cert=FILE and key=FILE go together" "$BIN" read "$U&cert=$C/operator.pem" hr10
expect 2 "unknown parameter 'baud'" "$BIN" read "$U&baud=9600" hr10
expect 1 "cannot open the CA file $TMP/none.pem" "$BIN" read "modbus-tls://127.0.0.1:$P?ca=$TMP/none.pem" hr10
expect 1 "does not belong to certificate" "$BIN" read "$U&cert=$C/operator.pem&key=$C/viewer.key" hr10
expect 2 "needs --ca FILE, --cert FILE and --key FILE" "$BIN" sim modbus --tls 127.0.0.1:0 --ca "$C/ca.pem"
expect 1 "cannot open the CA file $TMP/none.pem" \
  "$BIN" sim modbus --tls 127.0.0.1:0 --ca "$TMP/none.pem" --cert "$C/server.pem" --key "$C/server.key"
# after all that the server still serves
expect 0 'hr10 = 11' "$BIN" read "$OP" hr10

# ---- openssl s_client against plcio's server ----
REQ='\000\001\000\000\000\006\001\003\000\012\000\003' # tid 1, unit 1, FC 3, hr10, 3 registers
# s_client ends when its input does: the input stays open until the 15-byte answer has
# arrived (or 30 s), not for a fixed time a slow machine may need more than
: > "$TMP/sc.raw"
(printf "$REQ"; i=0; while [ "$(wc -c < "$TMP/sc.raw")" -lt 15 ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done) |
  openssl s_client -connect "127.0.0.1:$P" -CAfile "$C/ca.pem" -cert "$C/viewer.pem" \
  -key "$C/viewer.key" -verify_return_error -quiet -no_ign_eof 2> "$TMP/sc.err" > "$TMP/sc.raw"
od -An -tx1 < "$TMP/sc.raw" | tr -s ' \n' ' ' > "$TMP/sc.out"
grep -q "00 01 00 00 00 09 01 03 06 00 0b 00 0c 00 0d" "$TMP/sc.out" ||
  fail "s_client: answer $(cat "$TMP/sc.out"): $(cat "$TMP/sc.err")"
grep -q "depth=0 CN = server" "$TMP/sc.err" || fail "s_client did not verify the server: $(cat "$TMP/sc.err")"
# without a certificate: the input stays open until the server's alert has arrived (or 30 s)
: > "$TMP/sc.err"
(printf "$REQ"; i=0; while ! grep -q "alert" "$TMP/sc.err" && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done) |
  openssl s_client -connect "127.0.0.1:$P" -CAfile "$C/ca.pem" -verify_return_error -quiet \
  -no_ign_eof 2> "$TMP/sc.err" | od -An -tx1 > "$TMP/sc.out"
[ -s "$TMP/sc.out" ] && fail "s_client without a certificate got an answer: $(cat "$TMP/sc.out")"
grep -q "alert certificate required" "$TMP/sc.err" || fail "s_client without cert: $(cat "$TMP/sc.err")"
# a TLS 1.1 client (allowed to speak it: SECLEVEL=0) is refused: the specification asks for TLS 1.2 at least
openssl s_client -connect "127.0.0.1:$P" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -CAfile "$C/ca.pem" \
  -cert "$C/operator.pem" -key "$C/operator.key" < /dev/null > "$TMP/sc.out" 2>&1
grep -q "alert protocol version" "$TMP/sc.out" || fail "TLS 1.1: $(cat "$TMP/sc.out")"
wait_grep "$TMP/sim" "refused (handshake): TLS error: unsupported protocol" "server log TLS 1.1"

# ---- pymodbus's TLS client against plcio's server ----
expect 0 "" "$PY" "$PEERS/pymodbus_tls_peer.py" client "127.0.0.1:$P" "$C" operator write 30 7 8 9 read 30 3
grep -q "^write 30: ok$" "$TMP/out" && grep -q "^read 30: 7 8 9$" "$TMP/out" || fail "pymodbus operator: $(cat "$TMP/out")"
expect 0 "" "$PY" "$PEERS/pymodbus_tls_peer.py" client "127.0.0.1:$P" "$C" viewer write 30 1 read 30 3
grep -q "^exception 1$" "$TMP/out" && grep -q "^read 30: 7 8 9$" "$TMP/out" || fail "pymodbus viewer: $(cat "$TMP/out")"
expect 2 "" "$PY" "$PEERS/pymodbus_tls_peer.py" client "127.0.0.1:$P" "$C" stranger read 30 3
expect 2 "" "$PY" "$PEERS/pymodbus_tls_peer.py" client "127.0.0.1:$P" "$C" - read 30 3
expect 0 'hr30\[3\] = \[7, 8, 9\]' "$BIN" read "$OP" "hr30[3]"

# ---- plcio's client against pymodbus's TLS server (client certificate required) ----
"$PY" "$PEERS/pymodbus_tls_peer.py" server "$C" --seconds 120 > "$TMP/psrv" 2>&1 &
PSRV=$!
wait_listen "$TMP/psrv"
PP=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/psrv")
PU="modbus-tls://127.0.0.1:$PP?ca=$C/ca.pem&cert=$C/operator.pem&key=$C/operator.key"
expect 0 'hr0\[5\] = \[0, 1, 2, 3, 4\]' "$BIN" read "$PU" "hr0[5]"
expect 0 'hr100:REAL = 123.456' "$BIN" read "$PU" hr100:REAL
expect 0 "" "$BIN" write "$PU" "hr7=700"
expect 0 'hr7 = 700' "$BIN" read "$PU" hr7
expect 1 "closed the TLS connection before any answer (did it refuse our certificate?)" \
  "$BIN" read "modbus-tls://127.0.0.1:$PP?ca=$C/ca.pem" hr7
expect 1 "server certificate refused" "$BIN" read "modbus-tls://127.0.0.1:$PP?ca=$C/other-ca.pem" hr7

# ---- the engine (event-loop client) on a modbus-tls device: pymodbus's server ----
SHM="plcio-mbtls-$$"
"$BIN" sync "$PU" --tag hr7 --tag hr100:REAL --interval 50 --shm "$SHM" --seconds 60 --stats 100000 \
  > "$TMP/sync" 2>&1 &
SYNC=$!
i=0
until "$BIN" shm "$SHM" --json > "$TMP/shm" 2>&1 && grep -q '"hr7":{"value":700,"quality":"good"' "$TMP/shm" &&
  grep -q '"hr100:REAL":{"value":123.456,"quality":"good"' "$TMP/shm"; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "engine over TLS: $(cat "$TMP/shm" "$TMP/sync")"; sleep 0.1
done
expect 0 "" "$BIN" write "$PU" "hr7=701"
i=0
until "$BIN" shm "$SHM" --json 2> /dev/null | grep -q '"hr7":{"value":701,"quality":"good"'; do
  i=$((i + 1)); [ $i -gt 200 ] && fail "engine did not see hr7=701: $(cat "$TMP/sync")"; sleep 0.1
done
kill "$SYNC"; wait "$SYNC" 2> /dev/null; SYNC=
# the engine with no client certificate: the device is down, the reason named
# (waited for: logged as the connection lost, or shown by a DOWN statistics line)
"$BIN" sync "modbus-tls://127.0.0.1:$P?ca=$C/ca.pem" --tag hr7 --shm "$SHM" --seconds 120 --stats 500 > "$TMP/sync" 2>&1 &
SYNC=$!
wait_grep "$TMP/sync" "tlsv13 alert certificate required" "engine without certificate"
kill -INT "$SYNC"; wait "$SYNC" || fail "engine exit status $? after SIGINT: $(cat "$TMP/sync")"; SYNC=

# ---- TLS to a plain Modbus/TCP port ----
"$BIN" sim modbus --listen 127.0.0.1:0 --seconds 60 > "$TMP/plain" 2>&1 &
PLAIN=$!
wait_listen "$TMP/plain"
PL=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\) (tcp)$/\1/p' "$TMP/plain")
expect 1 "closed the connection during the TLS handshake (not a Modbus/TCP Security server?)" \
  "$BIN" read "modbus-tls://127.0.0.1:$PL?ca=$C/ca.pem&cert=$C/operator.pem&key=$C/operator.key" hr10

kill "$SIM"; wait "$SIM" 2> /dev/null; SIM=
echo "modbus_tls: all checks passed"
