#!/bin/sh
# Sparkplug B through a real mosquitto broker, read by a foreign decoder
# (Tahu's sparkplug-payload, check_capture.js): plcio sync polls a simulated
# Modbus PLC and publishes as a Sparkplug edge node. Seen by a subscriber:
#   NBIRTH (bdSeq) and DBIRTH (names, aliases, datatypes), DDATA by alias only
#   whose values, decoded with the BIRTH's datatypes, are what the PLC holds;
#   a DCMD written by the foreign encoder reaching the PLC (writable tag) and
#   refused for a tag not configured writable; NCMD Rebirth; DDEATH when the
#   PLC goes and DBIRTH when it is back; the NDEATH will (same bdSeq as the
#   NBIRTH) when the engine is killed, then its restart's NBIRTH; the broker
#   killed and restarted: the changes made meanwhile arrive as is_historical
#   DDATA after a new NBIRTH (bdSeq + 1); the primary host's STATE: no birth
#   while the host is offline, births once it is online.
# usage: test_sparkplug_mosquitto.sh PLCIO_BIN
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PIDS=
cleanup() { stop_all; [ -n "${KEEP:-}" ] && cp -r "$TMP" "$KEEP"; rm -f /dev/shm/plcio-spb-$$-* /dev/shm/plcio-spb-$$-*.ring; rm -rf "$TMP"; }
SEG=0
engine() { # NAME CONFIG: plcio sync on its own segment
  SEG=$((SEG + 1))
  start_bg "$1" "$BIN" sync --config "$2" --stats 2000 --shm "plcio-spb-$$-$SEG"
}
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "== $f"; tail -15 "$f"; done; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$HERE/lib.sh"
[ -d "$HERE/node_modules/sparkplug-payload" ] || { echo "SKIP: sparkplug-payload not installed (scripts/bootstrap.sh)"; exit 77; }
[ -x /usr/sbin/mosquitto ] || { echo "SKIP: no mosquitto (scripts/bootstrap.sh installs it)"; exit 77; }

start_mosquitto broker
MQ=$MQ_PORT
start_sim sim
SIM=$SIM_PORT
URL="modbus-tcp://127.0.0.1:$SIM"
"$BIN" write "$URL" hr0:REAL=1.5 hr2:INT=-7 hr3:DINT=70000 co0=true > /dev/null || fail "cannot write the simulator"

cat > "$TMP/edge.yaml" <<EOF
devices:
  - name: plc1
    url: "$URL"
    reconnect: {min: 100ms, max: 300ms}
    groups:
      - name: fast
        interval: 50ms
        tags:
          - {address: "hr0:REAL", name: Level}
          - {address: "hr2:INT", name: Temp}
          - {address: "hr3:DINT", name: Count}
          - {address: "co0", name: Run}
          - {address: "hr10:REAL", name: Setpoint}
outputs:
  - mqtt:
      url: "mqtt://127.0.0.1:$MQ"
      client-id: edge1
      format: sparkplug
      qos: 1
      keepalive: 30s
      writable: [Setpoint]
      sparkplug: {group: plant, node: edge1}
EOF
capture cap "$MQ"
# subscribed before the engine is born (its NBIRTH is not retained)
wait_for "$TMP/broker.log" "Sending SUBACK to cap-cap-$$" 20
engine edge "$TMP/edge.yaml"
wait_for "$TMP/cap.log" "^spBv1.0/plant/DBIRTH/edge1/plc1 " 30
wait_for "$TMP/cap.log" "^spBv1.0/plant/DDATA/edge1/plc1 " 30

# a change in the PLC: DDATA
sleep 0.5
n=$(count_of "$TMP/cap.log" "/DDATA/")
"$BIN" write "$URL" hr0:REAL=2.25 > /dev/null || fail "write"
wait_for "$TMP/cap.log" "/DDATA/" 20 $((n + 1))

# DCMD from the foreign encoder: Setpoint (writable) reaches the PLC; Level (not writable) does not
node "$HERE/encode.js" '{"timestamp": 1, "metrics": [{"name": "Setpoint", "type": "Float", "value": 42.5}]}' > "$TMP/dcmd1"
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -t spBv1.0/plant/DCMD/edge1/plc1 -f "$TMP/dcmd1" || fail "mosquitto_pub"
node "$HERE/encode.js" '{"timestamp": 1, "metrics": [{"alias": 16, "type": "Float", "value": 99}]}' > "$TMP/dcmd2"
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -t spBv1.0/plant/DCMD/edge1/plc1 -f "$TMP/dcmd2" || fail "mosquitto_pub"
i=0
until "$BIN" read "$URL" hr10:REAL | grep -q '42.5'; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "DCMD Setpoint=42.5 did not reach the PLC: $("$BIN" read "$URL" hr10:REAL)"; sleep 0.1
done
wait_for "$TMP/edge.log" "not writable over Sparkplug" 10
"$BIN" read "$URL" hr0:REAL | grep -q '2.25' || fail "Level was written by a DCMD although not writable"

# NCMD rebirth: a new NBIRTH and DBIRTH
nb=$(count_of "$TMP/cap.log" "/NBIRTH/")
node "$HERE/encode.js" '{"timestamp": 1, "metrics": [{"name": "Node Control/Rebirth", "type": "Boolean", "value": true}]}' > "$TMP/ncmd"
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -t spBv1.0/plant/NCMD/edge1 -f "$TMP/ncmd" || fail "mosquitto_pub"
wait_for "$TMP/cap.log" "/NBIRTH/" 20 $((nb + 1))

# the PLC goes: DDEATH; it comes back: DBIRTH
db=$(count_of "$TMP/cap.log" "/DBIRTH/")
stop sim
wait_for "$TMP/cap.log" "^spBv1.0/plant/DDEATH/edge1/plc1" 30
start_sim sim "$SIM"
wait_for "$TMP/cap.log" "/DBIRTH/" 30 $((db + 1))
# a new simulator starts empty: the values again
"$BIN" write "$URL" hr0:REAL=2.25 hr2:INT=-7 hr3:DINT=70000 co0=true hr10:REAL=42.5 > /dev/null || fail "write"

# the engine killed: the broker sends its will (NDEATH); restarted: NBIRTH
stop edge KILL
wait_for "$TMP/cap.log" "^spBv1.0/plant/NDEATH/edge1 " 20
nb=$(count_of "$TMP/cap.log" "/NBIRTH/")
engine edge "$TMP/edge.yaml"
wait_for "$TMP/cap.log" "/NBIRTH/" 30 $((nb + 1))
wait_for "$TMP/cap.log" "/DBIRTH/" 30 $((db + 2))
# a slow (sanitizer) engine can be born before its first read: its values follow as DDATA;
# wait until the foreign decoder sees them before the broker goes
i=0
until node "$HERE/check_capture.js" "$TMP/cap.log" > "$TMP/peek.json" 2>/dev/null &&
  /usr/bin/python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))["values"]; sys.exit(v.get("plant/edge1/plc1/Level") != 2.25)' "$TMP/peek.json"; do
  i=$((i + 1)); [ $i -gt 150 ] && fail "the restarted engine's values never reached the subscriber: $(cat "$TMP/peek.json")"; sleep 0.2
done

# the broker killed; changes meanwhile; back: new NBIRTH and historical DDATA
# (events, not time: the engine noticed the broker gone, and read each change before the next
# one; it is paused (SIGSTOP) while the new broker starts and the capture subscribes, so its
# new NBIRTH cannot come before the subscription)
engine_read() { # TAG VALUE: wait until the engine's segment holds it
  i=0
  until "$BIN" shm "plcio-spb-$$-$SEG" --json 2> /dev/null | grep -q "\"$1\":{\"value\":$2,"; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "the engine did not read $1=$2"; sleep 0.1
  done
}
stop cap
stop broker KILL
wait_for "$TMP/edge.log" "lost the connection" 30
"$BIN" write "$URL" hr2:INT=123 > /dev/null || fail "write"
engine_read Temp 123
"$BIN" write "$URL" hr2:INT=-321 > /dev/null || fail "write"
engine_read Temp -321
cp "$TMP/cap.log" "$TMP/cap1.txt"
kill -STOP "$(pid_of edge)"
start_mosquitto broker "$MQ"
capture cap "$MQ"
wait_for "$TMP/broker.log" "Sending SUBACK to cap-cap-$$" 20
kill -CONT "$(pid_of edge)"
wait_for "$TMP/cap.log" "/NBIRTH/" 30
wait_for "$TMP/cap.log" "/DDATA/" 30
"$BIN" write "$URL" hr3:DINT=-5 > /dev/null || fail "write"
# the change reached the subscriber (decoded by the foreign decoder) before the checks
i=0
until node "$HERE/check_capture.js" "$TMP/cap.log" > "$TMP/peek.json" 2>/dev/null &&
  /usr/bin/python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))["values"]; sys.exit(v.get("plant/edge1/plc1/Count") != -5)' "$TMP/peek.json"; do
  i=$((i + 1)); [ $i -gt 150 ] && fail "Count=-5 never reached the subscriber: $(cat "$TMP/peek.json")"; sleep 0.2
done
cat "$TMP/cap1.txt" "$TMP/cap.log" > "$TMP/all.txt"

cat > "$TMP/expect.json" <<EOF
{"plant/edge1/plc1/Level": 2.25, "plant/edge1/plc1/Temp": -321, "plant/edge1/plc1/Count": -5,
 "plant/edge1/plc1/Run": true, "plant/edge1/plc1/Setpoint": 42.5}
EOF
# the first capture: all message types, the rules, the values as they were then
node "$HERE/check_capture.js" "$TMP/cap1.txt" --require NBIRTH,DBIRTH,DDATA,DDEATH,NDEATH > "$TMP/check1.json" ||
  fail "foreign decoder: $(cat "$TMP/check1.json")"
# after the broker came back (a new subscriber): a fresh NBIRTH first, historical data, final values
node "$HERE/check_capture.js" "$TMP/cap.log" --require NBIRTH,DBIRTH,DDATA --expect "$TMP/expect.json" > "$TMP/check2.json" ||
  fail "foreign decoder after the broker restart: $(cat "$TMP/check2.json")"
/usr/bin/python3 - "$TMP/check1.json" "$TMP/check2.json" <<'EOF' || fail "checks of the captures"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
births = a["births"]["plant/edge1"]
deaths = a["deaths"]["plant/edge1"]
# rebirth keeps the bdSeq; the killed engine's will carries the bdSeq of its NBIRTH
assert births[0] == births[1], ("rebirth changed bdSeq", births)
assert deaths[0] == births[1], ("NDEATH bdSeq is not the NBIRTH's", births, deaths)
assert b["historical"] >= 2, ("changes made while the broker was down not sent as historical", b)
nb = b["births"]["plant/edge1"]
assert nb[0] == (births[-1] + 1) % 256 or nb[0] != births[-1], ("no new bdSeq after the broker restart", births, nb)
assert a["values"]["plant/edge1/plc1/Level"] == 2.25, a["values"]
print("types", a["types"], "historical", b["historical"], "bdSeq", births, deaths, nb)
EOF

# ---- the one-liner: plcio sync URL --tag ... --mqtt URL --sparkplug GROUP/NODE ----
"$BIN" sync "$URL" --tag hr0:REAL --tag co0 --mqtt "mqtt://127.0.0.1:$MQ" --sparkplug plant/oneliner --seconds 3 \
  --quiet --shm "plcio-spb-$$-one" > "$TMP/one.log" 2>&1 || fail "the one-liner: $(cat "$TMP/one.log")"
# (waited for: the capture may write them after the one-liner is gone)
wait_for "$TMP/cap.log" "^spBv1.0/plant/DBIRTH/oneliner/plc " 20
wait_for "$TMP/cap.log" "^spBv1.0/plant/NDEATH/oneliner " 20

# ---- the primary host: nothing is born while its STATE says offline ----
stop edge
sed -e 's/sparkplug: {group: plant, node: edge1}/sparkplug: {group: plant, node: edge2, primary-host: scada}/' \
    -e 's/client-id: edge1/client-id: edge2/' "$TMP/edge.yaml" > "$TMP/edge2.yaml"
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -r -t spBv1.0/STATE/scada -m '{"online": false, "timestamp": 1000}' || fail "pub"
engine edge2 "$TMP/edge2.yaml"
wait_for "$TMP/broker.log" "New client connected .* as edge2" 20
sleep 1.5
[ "$(count_of "$TMP/cap.log" "/NBIRTH/edge2")" = 0 ] || fail "edge2 was born while its primary host is offline"
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -r -t spBv1.0/STATE/scada -m '{"online": true, "timestamp": 2000}' || fail "pub"
wait_for "$TMP/cap.log" "^spBv1.0/plant/NBIRTH/edge2 " 20
wait_for "$TMP/cap.log" "^spBv1.0/plant/DBIRTH/edge2/plc1 " 20
# the host goes offline: the node says NDEATH
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -r -t spBv1.0/STATE/scada -m '{"online": false, "timestamp": 3000}' || fail "pub"
wait_for "$TMP/cap.log" "^spBv1.0/plant/NDEATH/edge2 " 20
mosquitto_pub -h 127.0.0.1 -p "$MQ" -q 1 -r -t spBv1.0/STATE/scada -n || true
echo "ok: sparkplug through mosquitto, checked by sparkplug-payload"
