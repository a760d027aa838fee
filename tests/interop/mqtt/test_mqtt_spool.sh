#!/usr/bin/env bash
# The MQTT output's queue file across a crash, and broker names resolved off the
# engine's thread, against a real broker (Debian's mosquitto on a picked
# 127.0.0.1 port) and a foreign subscriber (mosquitto_sub). `plcio sim s7` is the PLC.
# 1. The broker is down; the engine queues 20 values of int_1 (each written to the
#    PLC once the engine read the previous one); once the queue file holds the last
#    one the engine is killed with SIGKILL; a torn record is appended to the file (a
#    write cut by the crash); the broker starts, the engine starts again: the
#    subscriber gets all 20 values in order with the simulator's content, the torn
#    record is reported and never sent, and the file is gone after a clean stop.
# 2. The file is bounded: with queue: 5, at most 5 messages survive, drops counted.
# 3. Broker names: while a name server hangs (slow_dns.c, preloaded, holds the lookup
#    of slow.invalid until the test lets go) the engine reads the PLC; then "does not
#    resolve" is logged. A name that does not resolve (nosuch.invalid): said in the
#    log, retried, the engine reads on; a name that resolves (localhost, when
#    /etc/hosts maps it to 127.0.0.1) connects.
# 4. A queue file that cannot be written: reported once, the engine reads on, and the
#    messages that it could not keep are reported at the stop.
# usage: test_mqtt_spool.sh PLCIO_BIN FIXTURES_DIR SLOW_DNS_SO
set -u
BIN=$1
FIX=$2
SLOW_DNS=$3
if ! [ -x /usr/sbin/mosquitto ] || ! command -v mosquitto_sub > /dev/null; then
  echo "SKIP: no mosquitto: scripts/bootstrap.sh installs Debian's mosquitto and mosquitto-clients"; exit 77
fi
export PLCIO_TEST_RUN=1
TMP=$(mktemp -d)
SIM= ENG= BROKER= MSUB=
cleanup() {
  [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$MSUB" ] && kill "$MSUB" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null
  [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null
  [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
MP=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$MP" "$(id -un)" > "$TMP/broker.conf"
# The broker is absent at first on purpose, so its port cannot be held for it: should another
# process take MP meanwhile, mosquitto says so and the test fails saying why. Ready once its own
# log says it runs (a ping over MP could be answered by whoever took the port).
broker_start() {
  mosq_run "$TMP/broker.conf" "$TMP/broker.log" ||
    fail "port $MP was taken by another process while the broker was away: $(cat "$TMP/broker.log")"
  BROKER=$MOSQ MOSQ=
}

"$BIN" sim s7 --listen 127.0.0.1:0 --db "7:$FIX/layouts/test_db.db" --seconds 600 > "$TMP/sim" 2>&1 &
SIM=$!
wait_for "$TMP/sim" "listening on" "simulator did not start" 100
URL="s7://127.0.0.1:$(grep "listening on" "$TMP/sim" | sed 's/.*://')?rack=0&slot=1"
L="$(cd "$FIX" && pwd)/layouts/test_db.db"
SHM="plcio-mqttspool-$$"
config() { # FILE BROKER_URL QUEUE
  cat > "$1" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - mqtt: {url: "$2", client-id: plcio-spool, qos: 1, queue-file: q.bin, queue: $3}
YAML
}
# write_seen FROM TO: write int_1 = each value once the engine read the previous one
write_seen() {
  local v i
  for v in $(seq "$1" "$2"); do
    "$BIN" write "$URL" "DB7.DBW14:INT=$v" > /dev/null || fail "plcio write $v"
    i=0
    until "$BIN" shm "$SHM" --json 2> /dev/null | grep -q "\"int_1\":{\"value\":$v,"; do
      i=$((i + 1)); [ $i -gt 300 ] && fail "the engine did not read int_1=$v: $(cat "$TMP/err")"; sleep 0.05
    done
  done
}

# ---- 1. queued with the broker away, engine killed, everything arrives after a restart ----
config "$TMP/q.yaml" "mqtt://127.0.0.1:$MP" 1000
"$BIN" sync --config "$TMP/q.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
wait_for "$TMP/err" "cannot connect to mqtt://127.0.0.1:$MP" "the absent broker was not noticed"
write_seen 1 20
# the queue file holds the last value (written within SPOOL_FLUSH_NS, not at a stop)
wait_for "$TMP/q.bin" '"value":20,' "the queue file never got int_1=20 while running" 300
kill -9 "$ENG"; wait "$ENG" 2>/dev/null; ENG=
# a record torn by the crash: its header promises 200 bytes, 11 follow
printf '\310\000\000\000\001\002\003\004torn-record' >> "$TMP/q.bin"
broker_start
msub "$TMP/sub1" -p "$MP" -t plcio/plc/int_1 -v -q 1 -i plcio-test-spool
"$BIN" sync --config "$TMP/q.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
wait_for "$TMP/sub1.raw" '"value":20,' "int_1=20 from before the kill never arrived"
grep -q "queue-file .*q.bin: a damaged record at byte [0-9]* (cut short): [0-9]* bytes dropped" "$TMP/err" ||
  fail "the torn record was not reported: $(cat "$TMP/err")"
grep -Eq "[0-9]+ messages from .*q.bin are sent first" "$TMP/err" || fail "nothing replayed: $(cat "$TMP/err")"
# the file empties once the broker took everything: a clean stop leaves none
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync exit $st: $(cat "$TMP/err")"
msub_stop
[ -e "$TMP/q.bin" ] && fail "the queue file is left after everything was sent: $(cat "$TMP/err")"
grep -a '^plcio/plc/int_1 ' "$TMP/sub1.raw" > "$TMP/sub1"
grep -q 'torn-record' "$TMP/sub1.raw" && fail "the torn record was sent"
# every payload is the engine's JSON (GOOD with the value written, or a late poll's STALE
# with its reason); the first time each
# value arrives follows the order of the writes (at least once: repeats allowed);
# the first may be the simulator's own value (21) from before the writes
/usr/bin/python3 - "$TMP/sub1" <<'PY' || fail "int_1 after the crash: $(cut -c1-200 "$TMP/sub1" | head -40)"
import json, sys
seen, order = set(), []
for line in open(sys.argv[1]):
    d = json.loads(line.split(" ", 1)[1])
    assert d["changed"] <= d["ts"], line
    if d["quality"] != "GOOD":  # a poll late on a busy machine: STALE, then GOOD again
        assert d["quality"] in ("STALE", "ERROR", "UNCERTAIN") and d.get("reason"), line
        continue
    assert isinstance(d["value"], int), line
    if d["value"] not in seen:
        seen.add(d["value"]); order.append(d["value"])
if order and order[0] == 21:
    order = order[1:]
assert order[:20] == list(range(1, 21)), order
PY

# ---- 2. bounded: with queue: 5, at most 5 survive the crash; the rest is dropped, counted ----
kill "$BROKER"; wait "$BROKER" 2>/dev/null; BROKER=
config "$TMP/b.yaml" "mqtt://127.0.0.1:$MP" 5
rm -f "$TMP/q.bin"
"$BIN" sync --config "$TMP/b.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
wait_for "$TMP/err" "cannot connect to mqtt://127.0.0.1:$MP" "the absent broker was not noticed"
write_seen 30 45
wait_for "$TMP/q.bin" 'plcio/plc' "no queue file with queue: 5" 300
kill -9 "$ENG"; wait "$ENG" 2>/dev/null; ENG=
broker_start
"$BIN" sync --config "$TMP/b.yaml" --shm "$SHM" --seconds 1 > "$TMP/out" 2> "$TMP/err" ||
  fail "sync after the bounded crash: $(cat "$TMP/err")"
n=$(sed -n 's/.* \([0-9]*\) messages from .*q.bin are sent first.*/\1/p' "$TMP/err")
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 5 ] || fail "queue: 5 but $n messages came from the file: $(cat "$TMP/err")"

# ---- 3. broker names: a lookup that hangs does not stop the engine reading ----
config "$TMP/s.yaml" "mqtt://slow.invalid:$MP" 1000
rm -f "$TMP/q.bin"
PLCIO_TEST_DNS_GATE="$TMP/gate" LD_PRELOAD="$SLOW_DNS" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  "$BIN" sync --config "$TMP/s.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
i=0
until [ -e "$TMP/gate.entered" ]; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "the engine never looked slow.invalid up: $(cat "$TMP/err")"; sleep 0.1
done
write_seen 60 64 # the lookup is still held: the engine's thread is not in it
[ -e "$TMP/gate" ] && fail "the gate opened by itself"
grep -q "slow.invalid does not resolve" "$TMP/err" && fail "the lookup ended before the gate opened: $(cat "$TMP/err")"
touch "$TMP/gate"
wait_for "$TMP/err" "cannot connect to mqtt://slow.invalid:$MP: the name slow.invalid does not resolve" \
  "no clear error once the slow lookup failed"
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync with a slow name server exit $st: $(cat "$TMP/err")"

# ---- 3b. one that does not resolve, the engine reads on; one that does ----
config "$TMP/n.yaml" "mqtt://nosuch.invalid:$MP" 1000
rm -f "$TMP/q.bin"
"$BIN" sync --config "$TMP/n.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
wait_for "$TMP/err" "cannot connect to mqtt://nosuch.invalid:$MP: the name nosuch.invalid \(does not resolve\|did not resolve in time\)" \
  "no clear error for a name that does not resolve" 900
write_seen 50 55
grep -q "retrying with backoff" "$TMP/err" || fail "no retry said: $(cat "$TMP/err")"
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync with an unresolvable broker exit $st: $(cat "$TMP/err")"
if getent hosts localhost | grep -q '^127\.0\.0\.1 '; then
  msub "$TMP/sub3" -p "$MP" -t plcio/plcio-spool/status -v -q 1
  config "$TMP/l.yaml" "mqtt://localhost:$MP" 1000
  "$BIN" sync --config "$TMP/l.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
  ENG=$!
  wait_for "$TMP/sub3.raw" '"status":"online"' "no online status through mqtt://localhost"
  kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
  [ "$st" = 0 ] || fail "sync via localhost exit $st: $(cat "$TMP/err")"
  msub_stop
else
  echo "note: localhost does not map to 127.0.0.1 in /etc/hosts here: the resolving name part is skipped"
fi

# ---- 4. a queue file that cannot be written: said once, the engine reads on, memory keeps the queue ----
kill "$BROKER"; wait "$BROKER" 2>/dev/null; BROKER=
config "$TMP/d.yaml" "mqtt://127.0.0.1:$MP" 1000
sed -i "s|queue-file: q.bin|queue-file: $TMP/no-such-dir/q.bin|" "$TMP/d.yaml"
"$BIN" sync --config "$TMP/d.yaml" --shm "$SHM" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
wait_for "$TMP/err" "queue-file $TMP/no-such-dir/q.bin: cannot create .*No such file or directory (queued messages are kept in memory only" \
  "an unwritable queue file was not reported"
write_seen 70 72
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync with an unwritable queue file exit $st: $(cat "$TMP/err")"
[ "$(grep -c "cannot create" "$TMP/err")" = 1 ] || fail "the unwritable queue file is reported more than once: $(cat "$TMP/err")"
grep -q "queued messages may be lost: .*no-such-dir/q.bin is not written" "$TMP/err" || fail "the loss at the stop is not said: $(cat "$TMP/err")"
echo "OK"
