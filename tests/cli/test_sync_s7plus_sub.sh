#!/bin/sh
# plcio sync with a group fed by S7CommPlus subscriptions (--subscribe / subscribe: true)
# against plcio sim s7: the simulator logs each subscription it creates (--verbose), so the
# test sees that the group subscribed (and subscribed again after a restart) rather than
# polled. Values (raw DB and M bytes, members of an optimized DB by symbol) reach shared
# memory and follow a second client's writes; writes by name through the segment land
# (checked by the second client); the engine stalled past its credits -> the subscription
# goes on when it continues; the simulator stopped (SIGSTOP) -> no notification ->
# tags stale, continued -> good; killed -> stale, restarted on the same port -> subscribed
# again, values good and following changes; a subscription the PLC refuses (a 17th per
# session) -> that group's tags in error with the reason logged, the others good; bad
# configuration (classic device, --subscribe with --config, a STRING member, subscribe:
# maybe) -> clear error.
# usage: test_sync_s7plus_sub.sh PLCIO_BIN
set -u
BIN=$1
NAME="plcio-s7p-sub-$$"
fail() {
  echo "FAIL: $*"
  [ -f "$TMP/eng" ] && sed 's/^/engine: /' "$TMP/eng" | tail -20
  [ -f "$TMP/sim.out" ] && grep -v "^DEBUG s7srv" "$TMP/sim.out" | sed 's/^/sim: /' | tail -10
  cleanup; exit 1
}
. "$(dirname "$0")/sync_s7plus_lib.sh"

# start_sim LISTEN (verbose: it logs every subscription it creates)
start_sim() {
  : > "$TMP/sim.out"
  "$BIN" sim s7 --listen "$1" --db 1:100 --db "10:$TMP/line.db" --seconds 300 --verbose > "$TMP/sim.out" 2>&1 &
  SIM=$!
  wait_listen "$TMP/sim.out"
}
start_sim 127.0.0.1:0
sim_port
URL="s7plus://127.0.0.1:$PORT?insecure=1&timeout=500"

# wait_log FILE PATTERN COUNT: wait until FILE holds COUNT lines matching PATTERN
wait_log() {
  local i=0
  until [ "$(grep -c -- "$2" "$1")" -ge "$3" ]; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "never $3 lines '$2' in $1: $(grep -v '^DEBUG s7srv' "$1" | tail -5)"
    sleep 0.1
  done
}

# ---- values by subscription ----
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=1234 DB1.DBD4:REAL=2.5 MW10:INT=-7
"$BIN" sync "$URL" --subscribe --tag DB1.DBW0:INT --tag DB1.DBD4:REAL --tag MW10:INT --tag DB1.DBX2.1 \
  --tag '"Line".Motor.Speed' --tag '"Line".Counts[2]' --tag '"Line".Motor.Running' \
  --interval 50 --writable --shm "$NAME" --stats 500 > "$TMP/eng" 2>&1 &
ENG=$!
shm_check "t['DB1.DBW0:INT']['value'] == 1234 and t['DB1.DBD4:REAL']['value'] == 2.5 and \
t['MW10:INT']['value'] == -7 and t['DB1.DBX2.1']['value'] is False and t['\"Line\".Motor.Speed']['value'] == 1500 and \
t['\"Line\".Counts[2]']['value'] == 42 and t['\"Line\".Motor.Running']['value'] is True and \
all(v['quality'] == 'good' for v in t.values())"
# the PLC was asked for a subscription of the group's items (DB1 bytes, M bytes, three members) every 50 ms
wait_log "$TMP/sim.out" "subscription 0x[0-9a-f]*, 5 items, cycle 50 ms" 1

# a second client changes the PLC's memory (classic S7 and S7CommPlus by symbol): notifications follow
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=-5 DB1.DBD4:REAL=-0.125 DB1.DBX2.1=true
expect 0 "" "$BIN" write "$URL" '"Line".Counts[2]=-42' '"Line".Motor.Speed=12.25'
shm_check "t['DB1.DBW0:INT']['value'] == -5 and t['DB1.DBD4:REAL']['value'] == -0.125 and \
t['DB1.DBX2.1']['value'] is True and t['\"Line\".Counts[2]']['value'] == -42 and \
t['\"Line\".Motor.Speed']['value'] == 12.25"

# ---- writes by name through the segment (unchanged by the subscription), read back by the second client ----
expect 0 "" "$BIN" shm "$NAME" --write '"Line".Motor.Speed=1450.5' --write MW10:INT=321 --write '"Line".Motor.Running=false'
expect 0 '"Line".Motor.Speed = 1450.5' "$BIN" read "$URL" '"Line".Motor.Speed'
expect 0 '"Line".Motor.Running = false' "$BIN" read "$URL" '"Line".Motor.Running'
expect 0 "MW10:INT = 321" "$BIN" read "$CLASSIC" MW10:INT
shm_check "t['MW10:INT']['value'] == 321 and t['\"Line\".Motor.Running']['value'] is False"

# ---- the engine stalls (SIGSTOP) for 40 intervals, more than its 20 credits: the PLC pauses
# its notifications; continued, the same subscription goes on (never lost, never made again) ----
kill -STOP "$ENG"
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=11
sleep 2
kill -CONT "$ENG"
shm_check "t['DB1.DBW0:INT']['value'] == 11 and all(v['quality'] == 'good' for v in t.values())"
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=12
shm_check "t['DB1.DBW0:INT']['value'] == 12"
[ "$(grep -c 'subscription 0x' "$TMP/sim.out")" = 1 ] || fail "subscribed more than once: $(grep 'subscription 0x' "$TMP/sim.out")"

# ---- the simulator stops answering: no notification -> stale; continued -> good ----
kill -STOP "$SIM"
shm_check "all(v['quality'] == 'stale' for v in t.values())"
kill -CONT "$SIM"
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=-6
shm_check "t['DB1.DBW0:INT']['value'] == -6 and all(v['quality'] == 'good' for v in t.values())" 30

# ---- the simulator killed: stale; restarted on the same port: subscribed again ----
kill -9 "$SIM"; wait "$SIM" 2>/dev/null; SIM=
shm_check "all(v['quality'] == 'stale' for v in t.values())"
start_sim "127.0.0.1:$PORT"
wait_log "$TMP/sim.out" "subscription 0x[0-9a-f]*, 5 items, cycle 50 ms" 1
# the new simulator's start values (DB1 zeroed, "Line" from its source), then a change
shm_check "t['DB1.DBW0:INT']['value'] == 0 and t['\"Line\".Motor.Speed']['value'] == 1500 and \
all(v['quality'] == 'good' for v in t.values())" 30
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=4321
expect 0 "" "$BIN" write "$URL" '"Line".Counts[2]=7'
shm_check "t['DB1.DBW0:INT']['value'] == 4321 and t['\"Line\".Counts[2]']['value'] == 7"
kill -INT "$ENG"; wait "$ENG" || fail "engine exit status $? after SIGINT"; ENG=
grep -q "plc: connection lost" "$TMP/eng" || fail "the lost connection was not reported"
# notifications counted (one an interval: the statistics line says how many)
grep -Eq "group tags +subscribed: [0-9.]+ notifications/s, [1-9][0-9]* in all" "$TMP/eng" ||
  fail "no notification statistics: $(cat "$TMP/eng")"

# ---- a subscription the PLC refuses: the simulator takes 16 per session, the 17th group fails ----
{
  echo "shm: $NAME"
  echo "devices:"
  echo "  - name: plc"
  echo "    url: \"$URL\""
  echo "    groups:"
  for i in $(seq 0 16); do
    echo "      - {name: g$i, interval: 50ms, subscribe: true, tags: [{address: DB1.DBW$((i * 2)):INT, name: w$i}]}"
  done
} > "$TMP/many.yaml"
"$BIN" sync --config "$TMP/many.yaml" > "$TMP/eng" 2>&1 &
ENG=$!
shm_check "sum(v['quality'] == 'good' for v in t.values()) == 16 and sum(v['quality'] == 'error' for v in t.values()) == 1"
i=0
until grep -q "the subscription was refused" "$TMP/eng"; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "the refused subscription was not reported"; sleep 0.1
done
kill -INT "$ENG"; wait "$ENG" || fail "engine exit status $? after SIGINT"; ENG=

# ---- bad configuration ----
expect 1 "subscribe: true needs an S7CommPlus device" "$BIN" sync "$CLASSIC" --subscribe --tag DB1.DBW0:INT \
  --shm "$NAME" --seconds 1
expect 2 "subscribe goes with a device URL" "$BIN" sync --config "$TMP/many.yaml" --subscribe
expect 1 "a subscription of this client does not carry" "$BIN" sync "$URL" --subscribe --tag '"Line".Name' \
  --shm "$NAME" --seconds 1
sed 's/subscribe: true/subscribe: maybe/' "$TMP/many.yaml" > "$TMP/bad.yaml"
expect 2 "subscribe" "$BIN" sync --config "$TMP/bad.yaml" --seconds 1
echo "ok"
