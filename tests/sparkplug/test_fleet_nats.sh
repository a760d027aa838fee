#!/bin/sh
# A fleet on a broker cluster (docs/fleet.md), for real: a 3-node NATS
# JetStream cluster (Debian nats-server, its MQTT listener on each node), 3
# plcio engines as Sparkplug edge nodes, each polling its own 10 simulated PLCs
# (one plcio sim modbus per engine, units 1..10, each its own bank and its own
# connection), publishing with QoS 1 to node 1 with nodes 2 and 3 as failover.
# A consumer (mosquitto_sub, persistent session, QoS 1) on node 3 sees:
#   - every tag of every device of every engine (DBIRTH), the marks written
#     into each PLC (engine * 100 + unit) as their values;
#   - node 1 killed mid-run (SIGKILL) while every PLC's counter climbs: the
#     engines move to node 2 and every counter value arrives (none lost: the
#     values a device took form an unbroken run 1..STEPS; replays after the
#     failover are counted duplicates; changes made while disconnected come
#     as is_historical);
#   - one engine killed: its NDEATH (the will, the bdSeq of its NBIRTH)
#     arrives within the keep-alive bound; restarted: a new NBIRTH after it.
# Sparkplug rules checked by Tahu's sparkplug-payload (check_capture.js).
# usage: test_fleet_nats.sh PLCIO_BIN
set -u
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PIDS=
ENGINES=3
UNITS=10
STEPS=${FLEET_STEPS:-24}
PERIOD=0.4
KEEPALIVE=30 # NATS 2.9 stalls JetStream requests for seconds while a node is gone: shorter flaps
# NATS Server 2.9 (Debian 12) refuses '.' in MQTT topic names, so the
# Sparkplug namespace spBv1.0 cannot cross it (2.10 maps '.'): the engines
# publish under spBv1-0 here, everything else as the specification says.
NS=spBv1-0
cleanup() { stop_all; [ -n "${KEEP:-}" ] && cp -r "$TMP" "$KEEP"; rm -f /dev/shm/plcio-fleet-$$-*; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "== $f"; tail -8 "$f"; done; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$HERE/lib.sh"
command -v nats-server > /dev/null || { echo "SKIP: no nats-server (scripts/bootstrap.sh installs it)"; exit 77; }
[ -d "$HERE/node_modules/sparkplug-payload" ] || { echo "SKIP: sparkplug-payload not installed (scripts/bootstrap.sh)"; exit 77; }

# ---- the NATS cluster: JetStream (MQTT needs it) and MQTT on every node ----
# Every node's ports are picked free and bound only when the node starts: nats-server
# cannot report ports it chose itself to the others' routes. When another process took
# one in between, that node exits ("address already in use"): the whole cluster starts
# again on new ports, 5 times at most. cluster_up: 0 all three run, 1 a port was taken.
cluster_up() {
  for i in 1 2 3; do
    while ! grep -q "Listening for MQTT clients" "$TMP/nats$i.log" 2>/dev/null; do
      if ! kill -0 "$(pid_of "nats$i")" 2>/dev/null; then
        grep -qi "address already in use" "$TMP/nats$i.log" && return 1
        fail "nats$i exited: $(tail -5 "$TMP/nats$i.log")"
      fi
      n=$((n + 1)); [ $n -gt 300 ] && fail "nats$i did not start in 30 s: $(tail -5 "$TMP/nats$i.log")"
      sleep 0.1
    done
  done
}
try=0
while :; do
  for i in 1 2 3; do
    eval "NP$i=$(pick_port) CP$i=$(pick_port) MP$i=$(pick_port)"
  done
  for i in 1 2 3; do
    eval "np=\$NP$i cp=\$CP$i mp=\$MP$i"
    cat > "$TMP/nats$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:$np
jetstream { store_dir: "$TMP/js$i" }
cluster {
  name: plcio-fleet
  listen: 127.0.0.1:$cp
  routes: [nats-route://127.0.0.1:$CP1, nats-route://127.0.0.1:$CP2, nats-route://127.0.0.1:$CP3]
}
# QoS 1 state kept on all three nodes: one may die
# (ack_wait: a QoS 1 message a subscriber did not acknowledge, say across a
# leader change, comes again after this instead of NATS's default 30 s)
mqtt { listen: 127.0.0.1:$mp, stream_replicas: 3, consumer_replicas: 3, ack_wait: "2s" }
EOF
    start_bg "nats$i" nats-server -c "$TMP/nats$i.conf"
  done
  n=0
  cluster_up && break
  try=$((try + 1)); [ $try -ge 5 ] && fail "NATS: ports taken by other processes 5 times in a row"
  echo "a NATS port was taken by another process before the node bound it; the cluster again on new ports" >&2
  for i in 1 2 3; do stop "nats$i" KILL; rm -rf "$TMP/js$i"; done
done
# JetStream clustered and ready: a QoS 1 message goes through (the MQTT streams exist)
i=0
until mosquitto_pub -h 127.0.0.1 -p "$MP1" -q 1 -t fleet/ready -m x -i "ready-$$" 2> "$TMP/ready.err"; do
  i=$((i + 1)); [ $i -gt 60 ] && fail "the NATS cluster does not take QoS 1 messages: $(cat "$TMP/ready.err")"; sleep 0.5
done

# ---- the consumer: node 3, persistent session, QoS 1 ----
# (-d, line-buffered: its SUBACK line says it is subscribed before the engines are born; the
# decoder and the checks read only the lines of the namespace)
start_bg consumer stdbuf -oL mosquitto_sub -d -h 127.0.0.1 -p "$MP3" -q 1 -c -i "fleet-consumer-$$" -v -F '%t %x' -t "$NS/#"
wait_for "$TMP/consumer.log" "received SUBACK" 30

# ---- 3 simulators (10 PLCs each) and 3 engines ----
SIMS=
for e in $(seq 1 $ENGINES); do
  start_bg "sim$e" "$BIN" sim modbus --listen 127.0.0.1:0 --size 16 $(for u in $(seq 1 $UNITS); do printf -- '--unit %s ' "$u"; done)
  wait_for "$TMP/sim$e.log" "listening on" 20
  port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sim$e.log" | head -1)
  SIMS="$SIMS $port"
  {
    echo "devices:"
    for u in $(seq 1 $UNITS); do
      cat <<EOF
  - name: plc$u
    url: "modbus-tcp://127.0.0.1:$port?unit=$u"
    groups:
      - name: g
        interval: 50ms
        tags:
          - {address: "hr1:INT", name: Counter}
          - {address: "hr2:INT", name: Mark}
          - {address: "hr3:REAL", name: Level}
EOF
    done
    cat <<EOF
outputs:
  - mqtt:
      brokers: ["mqtt://127.0.0.1:$MP1", "mqtt://127.0.0.1:$MP2", "mqtt://127.0.0.1:$MP3"]
      client-id: engine$e
      format: sparkplug
      qos: 1
      keepalive: ${KEEPALIVE}s
      sparkplug: {group: fleet, node: engine$e, namespace: $NS}
EOF
  } > "$TMP/engine$e.yaml"
done
SEG=0
engine() {
  SEG=$((SEG + 1))
  start_bg "engine$1" "$BIN" sync --config "$TMP/engine$1.yaml" --stats 5000 --shm "plcio-fleet-$$-$SEG"
}
for e in $(seq 1 $ENGINES); do engine "$e"; done
for e in $(seq 1 $ENGINES); do
  wait_for "$TMP/consumer.log" "^$NS/fleet/NBIRTH/engine$e " 30
  wait_for "$TMP/consumer.log" "^$NS/fleet/DBIRTH/engine$e/" 30 $UNITS
done

# ---- one engine killed (the cluster whole): its will; restarted: NDEATH then a new NBIRTH ----
nb=$(count_of "$TMP/consumer.log" "^$NS/fleet/NBIRTH/engine2 ")
stop engine2 KILL
wait_for "$TMP/consumer.log" "^$NS/fleet/NDEATH/engine2 " $((KEEPALIVE * 2))
engine 2
wait_for "$TMP/consumer.log" "^$NS/fleet/NBIRTH/engine2 " 30 $((nb + 1))
wait_for "$TMP/consumer.log" "^$NS/fleet/DBIRTH/engine2/" 30 $((UNITS * 2))
sleep 1

# ---- the counters climb; node 1 dies on the way ----
# shellcheck disable=SC2086
start_bg writer /usr/bin/python3 "$HERE/fleet_writer.py" "$PERIOD" "$STEPS" "$UNITS" $SIMS
wait_for "$TMP/writer.log" "^step $((STEPS / 3))$" 60
stop nats1 KILL
wait_for "$TMP/writer.log" "^done$" 120
for e in $(seq 1 $ENGINES); do
  wait_for "$TMP/engine$e.log" "connected to mqtt://127.0.0.1:\\($MP2\\|$MP3\\)" 30
done

# ---- what the consumer saw, read by the foreign decoder (until all is in: QoS 1
# redelivery after a leader change takes an ack_wait or two) ----
check() {
node "$HERE/check_capture.js" "$TMP/consumer.log" --namespace "$NS" --require NBIRTH,DBIRTH,DDATA,NDEATH --series Counter \
  > "$TMP/check.json" || fail "foreign decoder: $(cat "$TMP/check.json")"
/usr/bin/python3 - "$TMP/check.json" "$TMP/consumer.log" "$ENGINES" "$UNITS" "$STEPS" "$NS" > "$TMP/fleet.txt" <<'EOF'

import json, sys
out = json.load(open(sys.argv[1]))
lines = [l.split(" ")[0] for l in open(sys.argv[2]) if l.strip()]
engines, units, steps, ns = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
values, series = out["values"], out["series"]
problems = []
for e in range(1, engines + 1):
    for u in range(1, units + 1):
        base = f"fleet/engine{e}/plc{u}"
        for tag in ("Counter", "Mark", "Level"):
            if f"{base}/{tag}" not in values:
                problems.append(f"{base}/{tag} never arrived")
        if values.get(f"{base}/Mark") != e * 100 + u:
            problems.append(f"{base}/Mark is {values.get(base + '/Mark')}, not {e * 100 + u}")
        seen = set(v for v in series.get(f"{base}/Counter", []) if v)
        missing = [k for k in range(1, steps + 1) if k not in seen]
        if missing:
            problems.append(f"{base}/Counter: values {missing} never arrived")
# engine2: its NDEATH, then a new NBIRTH after it
t = [l for l in lines if l in (f"{ns}/fleet/NDEATH/engine2", f"{ns}/fleet/NBIRTH/engine2")]
death, birth = f"{ns}/fleet/NDEATH/engine2", f"{ns}/fleet/NBIRTH/engine2"
if death not in t or birth not in t[t.index(death):]:
    problems.append(f"engine2: no NDEATH followed by a NBIRTH: {t}")
births, deaths = out["births"]["fleet/engine2"], out["deaths"]["fleet/engine2"]
if deaths[0] != births[0]:
    problems.append(f"engine2: the will's bdSeq {deaths[0]} is not its NBIRTH's {births[0]}")
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
print(f"fleet ok: {engines * units * 3} tags, {steps} counter steps per device all received, "
      f"duplicates {out['duplicates']}, historical {out['historical']}, late {out['late']}, "
      f"births {out['births']}, deaths {out['deaths']}")
EOF
}
i=0
until check; do
  i=$((i + 1)); [ $i -gt 30 ] && fail "fleet checks: $(cat "$TMP/fleet.txt")"; sleep 2
done
cat "$TMP/fleet.txt"
echo "ok: fleet of $ENGINES engines x $UNITS PLCs on a 3-node NATS cluster"
