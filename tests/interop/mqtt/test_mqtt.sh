#!/usr/bin/env bash
# The MQTT output against a real broker (Debian's mosquitto, started here on a
# picked 127.0.0.1 port) and foreign clients (mosquitto_sub/_pub, npm mqtt).
# `plcio sim s7` is the PLC, `plcio sync --mqtt` / `outputs: - mqtt:` the engine.
# Checks: every tag's value as the simulator serves it (read independently with
# plcio read), the retained status online/offline; the broker stopped and
# restarted mid-run: every value arrives, in order; writes from MQTT (command
# topic, .../set, MQTT 5 response topic + correlation data) reach the PLC, and
# refused ones (not writable, unknown tag, wrong type, out of range, malformed,
# oversized) each get a reply saying why; a broker refusing the login is logged
# clearly; the queue file keeps what could not be sent across a restart; a dead
# first broker of a list is skipped; group documents; TLS with a client certificate
# (and without it: refused, logged); bad settings are usage errors.
# usage: test_mqtt.sh PLCIO_BIN FIXTURES_DIR
set -u
BIN=$1
FIX=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if ! [ -x /usr/sbin/mosquitto ] || ! command -v mosquitto_sub > /dev/null; then
  echo "SKIP: no mosquitto: scripts/bootstrap.sh installs Debian's mosquitto and mosquitto-clients"; exit 77
fi
if ! (cd "$HERE" && node -e "require('mqtt')") > /dev/null 2>&1; then
  echo "SKIP: npm mqtt missing: scripts/bootstrap.sh runs npm ci in tests/interop/mqtt"; exit 77
fi
export PLCIO_TEST_RUN=1
TMP=$(mktemp -d)
SIM= ENG= BROKER= SUB=
broker_stop() { [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null && wait "$BROKER" 2>/dev/null; BROKER=; }
cleanup() {
  [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$SUB" ] && kill "$SUB" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null
  [ -n "${TLSB:-}" ] && kill "$TLSB" 2>/dev/null
  [ -n "${AUTH:-}" ] && kill "$AUTH" 2>/dev/null
  [ -n "${MSUB:-}" ] && kill "$MSUB" 2>/dev/null
  [ -n "${MOSQ:-}" ] && kill "$MOSQ" 2>/dev/null
  [ -n "${DEADP:-}" ] && kill "$DEADP" 2>/dev/null
  broker_stop
  [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; [ -f "$TMP/broker.log" ] && tail -5 "$TMP/broker.log"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

. "$HERE/lib.sh"
# A port nobody listens on and nobody can take: held (bound, never listening) by a
# process of ours until the end; a connection to it is refused.
/usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(600)' > "$TMP/dead.port" &
DEADP=$!
# mosq_new TEMPLATE CONF LOG: a new broker on a port picked free (TEMPLATE's @PORT@, into CONF;
# PORT: the port). mosquitto cannot listen on port 0 and say which it got: when another process
# took the port before mosquitto bound it, again on a new one, 5 times at most.
mosq_new() {
  local try
  for try in 1 2 3 4 5; do
    PORT=$(free_port)
    sed "s/@PORT@/$PORT/" "$1" > "$2"
    mosq_run "$2" "$3" && return 0
    echo "port $PORT was taken by another process before mosquitto bound it; trying another" >&2
  done
  fail "mosquitto: 5 picked ports in a row were taken by other processes"
}
cat > "$TMP/broker.conf.in" <<CONF
listener @PORT@ 127.0.0.1
allow_anonymous true
persistence true
persistence_location $TMP/
user $(id -un)
CONF
MP=
broker_start() { # the first start picks the port; a restart keeps it (the engine's URL has it)
  if [ -z "$MP" ]; then
    mosq_new "$TMP/broker.conf.in" "$TMP/broker.conf" "$TMP/broker.log"
    MP=$PORT
  else
    mosq_run "$TMP/broker.conf" "$TMP/broker.log" || fail "port $MP was taken by another process while the broker was stopped"
  fi
  BROKER=$MOSQ
}
broker_start
MQ="mqtt://127.0.0.1:$MP"

"$BIN" sim s7 --listen 127.0.0.1:0 --db "7:$FIX/layouts/test_db.db" --seconds 600 > "$TMP/sim" 2>&1 &
SIM=$!
i=0
while ! grep -q "listening on" "$TMP/sim" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "simulator did not start: $(cat "$TMP/sim")"; sleep 0.1
done
URL="s7://127.0.0.1:$(grep "listening on" "$TMP/sim" | sed 's/.*://')?rack=0&slot=1"
L="$(cd "$FIX" && pwd)/layouts/test_db.db"
SHM="plcio-mqtt-$$"
sub_start() { # FILE CLIENT_ID TOPIC...: a persistent-session subscriber, ready when this returns
  local out=$1; shift
  node "$HERE/client.js" sub "$MQ" "$@" > "$out" 2> "$out.err" &
  SUB=$!
  local i=0
  until grep -q subscribed "$out.err" 2> /dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "npm mqtt subscriber did not start: $(cat "$out.err")"; sleep 0.1
  done
}
sub_stop() { [ -n "$SUB" ] && kill "$SUB" 2>/dev/null && wait "$SUB" 2>/dev/null; SUB=; }

# ---- 1. the one-liner: every tag under plcio/, JSON as the simulator serves it; status ----
msub "$TMP/sub1" -p "$MP" -t 'plcio/#' -v -q 1
S1=$MSUB
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --seconds 1.5 --shm "$SHM" --mqtt "$MQ" --stats 100000 \
  > "$TMP/out" 2> "$TMP/err" || fail "sync --mqtt: $(cat "$TMP/out" "$TMP/err")"
grep -q . "$TMP/err" && fail "sync --mqtt said: $(cat "$TMP/err")"
# the offline status is the engine's last message: the subscriber stops once it has it
wait_for "$TMP/sub1.raw" '/status {"status":"offline"' "no offline status"
kill "$S1" 2>/dev/null; wait "$S1" 2>/dev/null; MSUB=
msub_lines "$TMP/sub1"
"$BIN" read "$URL" DB7.DBD0:REAL DB7.DBD4:REAL DB7.DBD8:REAL DB7.DBX12.0 DB7.DBX12.1 DB7.DBW14:INT DB7.DBW16:INT \
  > "$TMP/plc" || fail "plcio read"
paste -d' ' <(printf '%s\n' vx_scaled vy_scaled vz_scaled bool_1 bool_2 int_1 int_2) <(sed 's/.* = //' "$TMP/plc") > "$TMP/want"
[ "$(wc -l < "$TMP/want")" = 7 ] || fail "unexpected plcio read output: $(cat "$TMP/plc")"
while read -r tag want; do
  lines=$(grep "^plcio/plc/$tag " "$TMP/sub1") || fail "nothing on plcio/plc/$tag: $(cat "$TMP/sub1")"
  # the value never changed: one message, or more when a poll cycle late enough on this busy
  # machine turned it STALE and back: every GOOD one carries the simulator's value
  printf '%s\n' "$lines" | cut -d' ' -f2- | /usr/bin/python3 -c '
import json, sys, time
want = sys.argv[1]
w = {"true": True, "false": False}.get(want)
docs = [json.loads(l) for l in sys.stdin]
good = [d for d in docs if d["quality"] == "GOOD"]
now = time.time() * 1000
ok = len(good) >= 1 and docs[0]["quality"] == "GOOD"
for d in good:
    v = d["value"]
    ok = ok and ((v is w) if w is not None else (not isinstance(v, bool) and float(v) == float(want)))
    ok = ok and now - 60000 < d["ts"] <= now and d["changed"] <= d["ts"]
sys.exit(0 if ok else 1)' "$want" || fail "$tag: payloads $lines are not what the simulator serves ($want)"
done < "$TMP/want"
grep -q '^plcio/[^/]*/status {"status":"online"' "$TMP/sub1" || fail "no online status: $(cat "$TMP/sub1")"
tail -1 "$TMP/sub1" | grep -q '/status {"status":"offline"' || fail "the last message is not the offline status"
status=$(timeout 3 mosquitto_sub -p "$MP" -t 'plcio/+/status' -C 1 -W 2)
case "$status" in *'"offline"'*) ;; *) fail "retained status after a clean stop: '$status'" ;; esac

# ---- 2. the will: an engine killed hard is reported offline by the broker ----
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --shm "$SHM" --mqtt "$MQ" --quiet > "$TMP/out" 2>&1 &
ENG=$!
i=0
until timeout 3 mosquitto_sub -p "$MP" -t 'plcio/+/status' -C 1 -W 2 | grep -q online; do
  i=$((i + 1)); [ $i -gt 20 ] && fail "engine never said online"; sleep 0.1
done
kill -9 "$ENG"; wait "$ENG" 2>/dev/null; ENG=
timeout 5 mosquitto_sub -p "$MP" -t 'plcio/+/status' -C 2 -W 4 > "$TMP/will" 2>&1
grep -q '"offline"' "$TMP/will" || fail "no offline will after kill -9: $(cat "$TMP/will")"

# ---- 3. the broker stops and comes back mid-run: nothing lost, order kept ----
sub_start "$TMP/sub3" plcio-test-sub3 plcio/plc/int_1
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --shm "$SHM" --mqtt "$MQ" --stats 100000 > "$TMP/out" 2> "$TMP/err" &
ENG=$!
# the engine runs and publishes (its first int_1 arrived), then each value is written once the
# engine has read the previous one (its segment shows it): none is overwritten unseen
wait_for "$TMP/sub3" "^plcio/plc/int_1 " "the engine published no int_1"
for v in $(seq 1 30); do
  "$BIN" write "$URL" "DB7.DBW14:INT=$v" > /dev/null || fail "plcio write $v"
  i=0
  until "$BIN" shm "$SHM" --json 2> /dev/null | grep -q "\"int_1\":{\"value\":$v,"; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "the engine did not read int_1=$v: $(cat "$TMP/err")"; sleep 0.05
  done
  [ "$v" = 10 ] && broker_stop
  [ "$v" = 20 ] && broker_start
done
# every value reached the subscriber (the last one: the queue was sent after the outage)
wait_for "$TMP/sub3" '"value":30,' "int_1=30 never reached the subscriber"
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
sub_stop
[ "$st" = 0 ] || fail "sync exit $st: $(cat "$TMP/err")"
grep -q "lost the connection" "$TMP/err" || fail "the outage went unnoticed: $(cat "$TMP/err")"
grep -q "connected to .* again" "$TMP/err" || fail "no recovery logged: $(cat "$TMP/err")"
# at least once: a message whose acknowledgement was lost may come twice; the first
# time each value arrives must follow the order they were written in
# (the first message may be the value before the writes: 21, the simulator's; before it, on a
# loaded machine, "not connected" with value null when the connection took longer than
# stale-after intervals: the engine says so, it is not a value)
got=$(awk 'v == 0 && /"value":null/ { next } { v = 1; print }' "$TMP/sub3" | sed 's/.*"value":\([-0-9]*\).*/\1/' |
  awk 'NR == 1 && $0 == 21 { next } !seen[$0]++' | tr '\n' ' ')
[ "$got" = "$(seq -s ' ' 1 30) " ] || fail "int_1 in arrival order: '$got', wanted 1 2 ... 30"

# ---- 4. writes from MQTT: only what is listed, through the engine, each answered ----
cat > "$TMP/w.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: "$MQ", client-id: plcio-w, version: 5, writable: [int_1, vx_scaled]}
YAML
"$BIN" sync --config "$TMP/w.yaml" --shm "$SHM" --stats 100000 > "$TMP/out" 2> "$TMP/err" &
ENG=$!
i=0
until timeout 3 mosquitto_sub -p "$MP" -t plcio/plcio-w/status -C 1 -W 2 | grep -q online; do
  i=$((i + 1)); [ $i -gt 20 ] && fail "writer engine never said online: $(cat "$TMP/err")"; sleep 0.1
done
# one reply subscriber for the whole section, subscribed before the first command
msub "$TMP/reply" -p "$MP" -t plcio/plcio-w/reply -q 1
REPLYSUB=$MSUB
replies() { grep -v -e '^Client ' -e '^Subscribed (mid' "$TMP/reply.raw"; }
reply_after() { # COMMAND...: run it (a publish), print the next reply the engine sends
  local n i=0
  n=$(replies | wc -l)
  "$@" || fail "$*"
  while [ "$(replies | wc -l)" -le "$n" ]; do
    i=$((i + 1)); [ $i -gt 150 ] && fail "no reply to $*: $(cat "$TMP/reply.raw")"; sleep 0.1
  done
  replies | sed -n "$((n + 1))p"
}
command() { # PAYLOAD: publish on the command topic, print the reply
  printf '%s' "$1" > "$TMP/cmd"
  reply_after mosquitto_pub -p "$MP" -t plcio/plcio-w/command -q 1 -f "$TMP/cmd"
}
r=$(command '{"int_1": 4242, "vx_scaled": 2.5}')
case "$r" in '{"ok":true,"results":[{"tag":"int_1","ok":true},{"tag":"vx_scaled","ok":true}]}') ;;
  *) fail "command reply: $r" ;; esac
[ "$("$BIN" read "$URL" DB7.DBW14:INT | sed 's/.* = //')" = 4242 ] || fail "int_1 not written"
[ "$("$BIN" read "$URL" DB7.DBD0:REAL | sed 's/.* = //')" = 2.5 ] || fail "vx_scaled not written"
expect_refused() { # PAYLOAD PATTERN
  local r
  r=$(command "$1")
  case "$r" in *'"ok":false'*) ;; *) fail "command $1 was not refused: $r" ;; esac
  printf '%s' "$r" | grep -q -- "$2" || fail "command $1: no '$2' in the reply $r"
}
expect_refused '{"int_2": 1}' 'not writable from MQTT'
expect_refused '{"nosuch": 1}' "no tag named 'nosuch'"
expect_refused '{"int_1": "abc"}' '"error"'
expect_refused '{"int_1": 70000}' 'out of range'
expect_refused '{"int_1": 1' "',' or '}' is expected"
expect_refused 'not json' 'a command is a JSON object'
expect_refused '{"int_1": null}' 'null is not a value'
head -c 70000 /dev/zero | tr '\0' ' ' > "$TMP/big"
r=$(reply_after mosquitto_pub -p "$MP" -t plcio/plcio-w/command -f "$TMP/big")
case "$r" in *'longer than 65536 bytes'*) ;; *) fail "oversized command: $r" ;; esac
[ "$("$BIN" read "$URL" DB7.DBW14:INT DB7.DBW16:INT | sed 's/.* = //' | tr '\n' ' ')" = "4242 74 " ] ||
  fail "a refused command changed the PLC: $("$BIN" read "$URL" DB7.DBW14:INT DB7.DBW16:INT)"
# per-tag .../set, plain text payload
r=$(reply_after mosquitto_pub -p "$MP" -t plcio/plc/int_1/set -m 77 -q 1)
case "$r" in *'"ok":true'*) ;; *) fail "set reply: $r" ;; esac
kill "$REPLYSUB" 2>/dev/null; wait "$REPLYSUB" 2>/dev/null; MSUB=
[ "$("$BIN" read "$URL" DB7.DBW14:INT | sed 's/.* = //')" = 77 ] || fail "int_1/set not written"
# MQTT 5: the reply goes to the request's response topic with its correlation data (npm mqtt)
r=$(cd "$HERE" && node client.js request "$MQ" plcio/plcio-w/command '{"int_1": 5}' my/answers req-17) ||
  fail "MQTT 5 request: $r"
[ "$r" = '{"ok":true,"results":[{"tag":"int_1","ok":true}]} correlation=req-17' ] || fail "MQTT 5 reply: $r"
kill -INT "$ENG"; wait "$ENG"; ENG=
grep -q "not writable from MQTT" "$TMP/err" || fail "refused writes not logged: $(cat "$TMP/err")"

# ---- 5. a broker that refuses the login: a clear log line, no crash ----
printf 'plc:nosuchhash\n' > "$TMP/passwd"
cat > "$TMP/auth.conf.in" <<CONF
listener @PORT@ 127.0.0.1
allow_anonymous false
password_file $TMP/passwd
user $(id -un)
CONF
mosq_new "$TMP/auth.conf.in" "$TMP/auth.conf" "$TMP/auth.log"
MP2=$PORT AUTH=$MOSQ
printf 'wrong\n' > "$TMP/pw"
cat > "$TMP/a.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: "mqtt://127.0.0.1:$MP2", username: plc, password-file: "$TMP/pw"}
YAML
"$BIN" sync --config "$TMP/a.yaml" --shm "$SHM" --seconds 1.5 --quiet > "$TMP/out" 2> "$TMP/err"; st=$?
kill "$AUTH"; wait "$AUTH" 2>/dev/null
[ "$st" = 0 ] || fail "sync with a refused login exited $st: $(cat "$TMP/err")"
grep -q "refused the connection: .*\(not authorised\|Connection Refused\)" "$TMP/err" ||
  fail "refused login not logged clearly: $(cat "$TMP/err")"
[ "$(grep -c "refused the connection" "$TMP/err")" = 1 ] || fail "the refusal is logged on every retry: $(cat "$TMP/err")"

# ---- 6. the queue file: what could not be sent survives a restart, sent first ----
broker_stop
cat > "$TMP/q.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: "$MQ", queue-file: q.bin, queue: 5}
YAML
"$BIN" sync --config "$TMP/q.yaml" --shm "$SHM" --seconds 1 --stats 100000 > "$TMP/out" 2> "$TMP/err"
[ -s "$TMP/q.bin" ] || fail "no queue file: $(cat "$TMP/err")"
grep -q "5 queued messages kept in" "$TMP/err" || fail "queue file not reported: $(cat "$TMP/err")"
# 9 tags changed in the first round: 5 kept, 4 dropped (more if a slow round made values stale)
grep -Eq " ([4-9]|[1-9][0-9]+) dropped \(queue of 5 full\)" "$TMP/err" || fail "drops not reported: $(cat "$TMP/err")"
broker_start
sub_start "$TMP/sub6" plcio-test-sub6 'plcio/plc/#'
"$BIN" write "$URL" "DB7.DBW14:INT=99" > /dev/null
sed 's/queue: 5/queue: 100/' "$TMP/q.yaml" > "$TMP/q2.yaml"
"$BIN" sync --config "$TMP/q2.yaml" --shm "$SHM" --seconds 1.5 --stats 100000 > "$TMP/out" 2> "$TMP/err" ||
  fail "sync with a queue file: $(cat "$TMP/err")"
wait_for "$TMP/sub6" '^plcio/plc/int_1 {"value":99,' "the new value did not follow"
sub_stop
grep -q "5 messages from .*q.bin are sent first" "$TMP/err" || fail "queue file not replayed: $(cat "$TMP/err")"
[ -e "$TMP/q.bin" ] && fail "the queue file is left behind after it was sent"
head -5 "$TMP/sub6" | cut -d' ' -f1 | tr '\n' ' ' > "$TMP/first"
[ "$(cat "$TMP/first")" = "plcio/plc/vx_scaled plcio/plc/vy_scaled plcio/plc/vz_scaled plcio/plc/bool_1 plcio/plc/bool_2 " ] ||
  fail "the queued messages did not come first: $(cat "$TMP/sub6")"
grep -q '^plcio/plc/int_1 {"value":99,' "$TMP/sub6" || fail "the new value did not follow: $(cat "$TMP/sub6")"
sub_stop

# ---- 7. failover: the first broker of the list is dead, the second takes the data; group documents ----
wait_for "$TMP/dead.port" '^[0-9]' "the port holder did not start"
cat > "$TMP/f.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{name: fast, db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: ["mqtt://127.0.0.1:$(cat "$TMP/dead.port")", "$MQ"], per-tag: false, group-topic: "line/{device}/{group}"}
YAML
msub "$TMP/sub7" -p "$MP" -t 'line/#' -v -C 1 -W 60
S7=$MSUB
"$BIN" sync --config "$TMP/f.yaml" --shm "$SHM" --seconds 2 --stats 100000 > "$TMP/out" 2> "$TMP/err" ||
  fail "sync failover: $(cat "$TMP/err")"
wait "$S7"; MSUB=
msub_lines "$TMP/sub7"
grep -q "cannot connect to mqtt://127.0.0.1:[0-9]*: Connection refused" "$TMP/err" || fail "dead broker not logged: $(cat "$TMP/err")"
/usr/bin/python3 - "$(cut -d' ' -f2- "$TMP/sub7")" "$(cut -d' ' -f1 "$TMP/sub7")" <<'PY' || fail "group document: $(cat "$TMP/sub7")"
import json, sys
doc, topic = json.loads(sys.argv[1]), sys.argv[2]
assert topic == "line/plc/fast", topic
assert doc["device"] == "plc" and doc["group"] == "fast" and doc["ts"] > 0
assert sorted(doc["values"]) == sorted(["vx_scaled", "vy_scaled", "vz_scaled", "bool_1", "bool_2", "bool_3", "bool_4",
                                       "int_1", "int_2"]), doc
assert doc["values"]["int_1"] == 99 and "quality" not in doc, doc
PY

# ---- 8. TLS: mqtts:// with our CA and a client certificate the broker requires ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=plcio-test-ca -keyout "$TMP/ca.key" -out "$TMP/ca.pem" \
  2> /dev/null || fail "openssl CA"
for who in server client; do
  cn=$([ $who = server ] && echo 127.0.0.1 || echo plcio-engine)
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$TMP/$who.key" -out "$TMP/$who.csr" 2> /dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\n' > "$TMP/$who.ext" &&
    openssl x509 -req -in "$TMP/$who.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
      -extfile "$TMP/$who.ext" -out "$TMP/$who.pem" 2> /dev/null || fail "openssl $who certificate"
done
chmod 644 "$TMP"/*.key
cat > "$TMP/tls.conf.in" <<CONF
listener @PORT@ 127.0.0.1
allow_anonymous true
cafile $TMP/ca.pem
certfile $TMP/server.pem
keyfile $TMP/server.key
require_certificate true
user $(id -un)
CONF
mosq_new "$TMP/tls.conf.in" "$TMP/tls.conf" "$TMP/tls.log"
TP=$PORT TLSB=$MOSQ
msub "$TMP/sub8" -h 127.0.0.1 -p "$TP" --cafile "$TMP/ca.pem" --cert "$TMP/client.pem" --key "$TMP/client.key" \
  -t 'plcio/plc/int_1' -W 60
S8=$MSUB
cat > "$TMP/t.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: "mqtts://127.0.0.1:$TP", tls: {ca: ca.pem, cert: client.pem, key: client.key}}
YAML
"$BIN" sync --config "$TMP/t.yaml" --shm "$SHM" --seconds 120 --stats 100000 > "$TMP/out" 2> "$TMP/err" &
ENG=$!
# (the good value, not the first message: an engine whose PLC connection is slower than
# stale-after cycles publishes its never-read tags as ERROR first, seen under ASan)
wait_for "$TMP/sub8.raw" '^{"value":99,"quality":"GOOD"' "nothing over TLS"
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync over TLS exited $st: $(cat "$TMP/err")"
kill "$S8" 2>/dev/null; wait "$S8" 2>/dev/null; MSUB=
# without the client certificate the broker refuses: said clearly, no crash
sed 's/, cert: client.pem, key: client.key//' "$TMP/t.yaml" > "$TMP/t2.yaml"
"$BIN" sync --config "$TMP/t2.yaml" --shm "$SHM" --seconds 1.5 --stats 100000 > "$TMP/out" 2> "$TMP/err"; st=$?
kill "$TLSB"; wait "$TLSB" 2>/dev/null
[ "$st" = 0 ] || fail "sync without a client certificate exited $st: $(cat "$TMP/err")"
grep -q "ERROR mqtt: .*mqtts://127.0.0.1:$TP" "$TMP/err" || fail "TLS refusal not logged: $(cat "$TMP/err")"

# ---- 9. bad settings: clear errors before anything runs ----
expect_usage() { # PATTERN sync-arguments...
  local pat=$1; shift
  "$BIN" sync "$@" --seconds 1 --shm "$SHM" > "$TMP/out" 2> "$TMP/err"; st=$?
  [ "$st" = 2 ] || fail "sync $* -> exit $st, wanted 2: $(cat "$TMP/err")"
  grep -q -- "$pat" "$TMP/err" || fail "sync $*: no '$pat' in: $(cat "$TMP/err")"
}
expect_usage "is not an mqtt:// or mqtts:// URL" "$URL" --db 7 --layout "$L" --mqtt "http://127.0.0.1:$MP"
expect_usage "only mqtt\[s\]://HOST\[:PORT\]" "$URL" --db 7 --layout "$L" --mqtt "$MQ?qos=2"
printf 'devices: [{name: plc, url: "%s", groups: [{db: 7}]}]\nlayouts: ["%s"]\noutputs: [{mqtt: {url: "%s", qos: 3}}]\n' \
  "$URL" "$L" "$MQ" > "$TMP/bad.yaml"
expect_usage "mqtt qos 3 is out of range" --config "$TMP/bad.yaml"
sed 's/qos: 3/writable: [nosuch]/' "$TMP/bad.yaml" > "$TMP/bad2.yaml"
"$BIN" sync --config "$TMP/bad2.yaml" --seconds 1 --shm "$SHM" > "$TMP/out" 2> "$TMP/err"
grep -q "mqtt writable: no tag named 'nosuch'" "$TMP/err" || fail "unknown writable tag: $(cat "$TMP/err")"
sed 's/qos: 3/username: u, password-env: PLCIO_NO_SUCH_VAR/' "$TMP/bad.yaml" > "$TMP/bad3.yaml"
expect_usage "PLCIO_NO_SUCH_VAR is not set" --config "$TMP/bad3.yaml"
echo "interop_mqtt: all checks passed"
