#!/bin/sh
# plcio sync with s7plus:// devices (S7CommPlus over TLS, event-loop mode) against
# plcio sim s7: values reach shared memory while a second client (classic S7) changes
# them; writes by name through the segment land (checked over classic S7); a BOOL write
# is refused with the reason; a missing DB is a tag error, its neighbours stay good;
# the simulator killed -> quality stale and the device DOWN, restarted on the same port
# (same certificate) -> values good again; s7://...?protocol=plus and protocol=auto route
# to the same driver (auto without ca= to classic S7, saying why); bad configuration
# (bad URL, no CA, an unknown symbol) -> clear error. Symbolic tags ("Line".Motor.Speed) of two optimized
# DBs the simulator serves: start values, changes by a second S7CommPlus client, writes by name read
# back, resolved again after the simulator restarted.
# usage: test_sync_s7plus.sh PLCIO_BIN
set -u
BIN=$1
NAME="plcio-s7p-sync-$$"
fail() { echo "FAIL: $*"; [ -f "$TMP/eng" ] && sed 's/^/engine: /' "$TMP/eng" | tail -20; cleanup; exit 1; }
. "$(dirname "$0")/sync_s7plus_lib.sh"

# two optimized DBs, served by symbol over S7CommPlus: "Line" ($TMP/line.db, written by
# sync_s7plus_lib.sh) and "Tank"
cat > "$TMP/tank.db" <<'EOF'
DATA_BLOCK "Tank"
{ S7_Optimized_Access := 'TRUE' }
   STRUCT
      Level : LReal := 12.5;
      Alarm : Bool;
   END_STRUCT;
BEGIN
END_DATA_BLOCK
EOF
# start_sim LISTEN: the simulator with a fixed certificate, so a restart keeps the CA valid
start_sim() {
  : > "$TMP/sim.out"
  "$BIN" sim s7 --listen "$1" --db 1:100 --db 3:10000 --db 7:20 --db "10:$TMP/line.db" --db "11:$TMP/tank.db" \
    --seconds 300 \
    --s7plus-cert "$TMP/cert.pem" --s7plus-key "$TMP/key.pem" > "$TMP/sim.out" 2>&1 &
  SIM=$!
  wait_listen "$TMP/sim.out"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/key.pem" \
  -out "$TMP/cert.pem" -days 2 -subj /CN=plcio-sim -addext subjectAltName=IP:127.0.0.1 > /dev/null 2>&1 ||
  fail "openssl req"
start_sim 127.0.0.1:0
sim_port
URL="s7plus://127.0.0.1:$PORT?ca=$TMP/cert.pem&timeout=500"

# ---- values: set over classic S7, seen in the segment through S7CommPlus ----
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=1234 DB1.DBD4:REAL=2.5 MW10:INT=-7 DB1.DBX2.1=true \
  "DB1.DBB20:STRING[8]=plcio" DB7.DBW2:INT=77
"$BIN" sync "$URL" --tag DB1.DBW0:INT --tag DB1.DBD4:REAL --tag MW10:INT --tag DB1.DBX2.1 \
  --tag "DB1.DBB20:STRING[8]" --tag DB7.DBW2:INT --tag DB9.DBW0 --tag "DB1.DBW40:INT[3]" \
  --tag '"Line".Motor.Speed' --tag '"Line".Counts[2]:DINT' --tag '"Tank".Alarm' --tag '"Line".Name' \
  --interval 50 --writable --shm "$NAME" --stats 500 > "$TMP/eng" 2>&1 &
ENG=$!
shm_check "t['DB1.DBW0:INT']['value'] == 1234 and t['DB1.DBD4:REAL']['value'] == 2.5 and \
t['MW10:INT']['value'] == -7 and t['DB1.DBX2.1']['value'] is True and t['DB1.DBB20:STRING[8]']['value'] == 'plcio' and \
t['DB7.DBW2:INT']['value'] == 77 and all(t[k]['quality'] == 'good' for k in t if k != 'DB9.DBW0')"
# symbolic tags of the simulator's optimized DBs (its built-in "Line" and "Tank"), start values
shm_check "t['\"Line\".Motor.Speed']['value'] == 1500 and t['\"Line\".Counts[2]:DINT']['value'] == 42 and \
t['\"Tank\".Alarm']['value'] is False and t['\"Line\".Name']['value'] == 'Line 1'"
# a DB the PLC does not have: that tag in error, the others good (checked above)
shm_check "t['DB9.DBW0']['quality'] == 'error'"
grep -q "the PLC refused DB9" "$TMP/eng" || fail "no refusal logged for DB9"

# a second client changes the PLC's memory: the engine follows
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=-5 DB1.DBD4:REAL=-0.125 "DB1.DBW40[3]=4,5,6"
shm_check "t['DB1.DBW0:INT']['value'] == -5 and t['DB1.DBD4:REAL']['value'] == -0.125 and \
[t['DB1.DBW40:INT[%d]' % i]['value'] for i in range(3)] == [4, 5, 6]"

# ... and symbolic values changed by a second S7CommPlus client
expect 0 "" "$BIN" write "$URL" '"Line".Counts[2]=-42' '"Line".Name=second'
shm_check "t['\"Line\".Counts[2]:DINT']['value'] == -42 and t['\"Line\".Name']['value'] == 'second'"

# ---- writes by name through the segment, checked by the second client ----
expect 0 "" "$BIN" shm "$NAME" --write '"Line".Motor.Speed=1450.5' --write '"Tank".Alarm=true' \
  --write '"Line".Name=by engine'
expect 0 '"Line".Motor.Speed = 1450.5' "$BIN" read "$URL" '"Line".Motor.Speed'
expect 0 '"Tank".Alarm = true' "$BIN" read "$URL" '"Tank".Alarm'
expect 0 '"Line".Name = by engine' "$BIN" read "$URL" '"Line".Name'
expect 1 "out of range" "$BIN" shm "$NAME" --write '"Line".Counts[2]:DINT=3000000000'
expect 0 "" "$BIN" shm "$NAME" --write DB1.DBD4:REAL=1450.5 --write MW10:INT=321
expect 0 "DB1.DBD4:REAL = 1450.5" "$BIN" read "$CLASSIC" DB1.DBD4:REAL
expect 0 "MW10:INT = 321" "$BIN" read "$CLASSIC" MW10:INT
expect 0 "" "$BIN" shm "$NAME" --write "DB1.DBB20:STRING[8]=abc"
expect 0 'DB1.DBB20:STRING\[8\] = abc' "$BIN" read "$CLASSIC" "DB1.DBB20:STRING[8]"
# the neighbours of a write are untouched
expect 0 "DB1.DBW0:INT = -5" "$BIN" read "$CLASSIC" DB1.DBW0:INT
# refused before anything is sent / refused by the driver / refused by the PLC
expect 1 "out of range" "$BIN" shm "$NAME" --write DB1.DBW0:INT=70000
expect 1 "BOOL is not written over S7CommPlus" "$BIN" shm "$NAME" --write DB1.DBX2.1=false
expect 0 "DB1.DBX2.1 = true" "$BIN" read "$CLASSIC" DB1.DBX2.1
expect 1 "refused the write of DB9" "$BIN" shm "$NAME" --write DB9.DBW0=1

# ---- the simulator stops answering (SIGSTOP): timeouts, values stale; SIGCONT: good again ----
kill -STOP "$SIM"
shm_check "t['DB1.DBW0:INT']['quality'] == 'stale'"
# stale comes after a few missed cycles, the timeout later: wait for it before SIGCONT
# (a fast machine continued the simulator before the engine's request timed out)
i=0
until grep -q "no answer from the PLC in time" "$TMP/eng"; do
  i=$((i + 1)); [ $i -gt 600 ] && fail "the timeout was not reported"; sleep 0.1
done
kill -CONT "$SIM"
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=-6
shm_check "t['DB1.DBW0:INT']['value'] == -6 and t['DB1.DBW0:INT']['quality'] == 'good'" 30

# ---- the simulator killed: DOWN, values stale; restarted: good again ----
kill -9 "$SIM"; wait "$SIM" 2>/dev/null; SIM=
shm_check "all(v['quality'] in ('stale', 'error') for v in t.values()) and t['DB1.DBW0:INT']['quality'] == 'stale'"
expect 1 "" "$BIN" shm "$NAME" --write MW10:INT=1
start_sim "127.0.0.1:$PORT"
expect 0 "" "$BIN" write "$CLASSIC" DB1.DBW0:INT=4321 DB7.DBW2:INT=78
shm_check "t['DB1.DBW0:INT']['value'] == 4321 and t['DB1.DBW0:INT']['quality'] == 'good'" 30
# the new simulator starts from its start values: the symbols resolved again on the new connection
shm_check "t['\"Line\".Motor.Speed']['value'] == 1500 and t['\"Line\".Motor.Speed']['quality'] == 'good'"
expect 0 "" "$BIN" shm "$NAME" --write MW10:INT=99
expect 0 "MW10:INT = 99" "$BIN" read "$CLASSIC" MW10:INT
kill -INT "$ENG"; wait "$ENG" || fail "engine exit status $? after SIGINT"; ENG=
# the loss is logged when it happens (a statistics line shows DOWN only if one falls in the outage,
# which a fast machine restarts within)
grep -q "plc: connection lost: s7plus: connection lost" "$TMP/eng" || fail "the lost connection was not reported"
grep -q "cycles" "$TMP/eng" || fail "no statistics: $(cat "$TMP/eng")"

# ---- more items than one request takes (64): 100 tags 100 bytes apart, two requests a cycle ----
set --
for i in $(seq 0 99); do set -- "$@" --tag "DB3.DBW$((i * 100)):INT"; done
"$BIN" sync "$URL" "$@" --interval 50 --shm "$NAME" --stats 500 > "$TMP/eng" 2>&1 &
ENG=$!
expect 0 "" "$BIN" write "$CLASSIC" DB3.DBW0:INT=100 DB3.DBW6300:INT=163 DB3.DBW6400:INT=164 DB3.DBW9900:INT=199
shm_check "len(t) == 100 and all(v['quality'] == 'good' for v in t.values()) and \
[t['DB3.DBW%d:INT' % o]['value'] for o in (0, 100, 6300, 6400, 9900)] == [100, 0, 163, 164, 199]"
kill -INT "$ENG"; wait "$ENG" || fail "engine exit status $? after SIGINT"; ENG=
grep -q "100 tags every 50 ms" "$TMP/eng" || fail "no statistics for the 100 tags: $(cat "$TMP/eng")"

# ---- s7://...?protocol=plus|auto in a configuration file ----
cat > "$TMP/plus.yaml" <<EOF
shm: $NAME
devices:
  - name: plus
    url: "s7://127.0.0.1:$PORT?protocol=plus&ca=$TMP/cert.pem"
    groups: [{name: g, interval: 50ms, tags: [{address: DB1.DBW0:INT, name: w0}, {address: '"Nope".Speed:REAL', name: nope}, {address: '"Tank".Level', name: level}]}]
  - name: auto
    url: "s7://127.0.0.1:$PORT?protocol=auto&insecure=1"
    groups: [{name: g, interval: 50ms, tags: [{address: MW10:INT, name: m10}]}]
  - name: classic
    url: "s7://127.0.0.1:$PORT?protocol=auto&rack=0&slot=1"
    groups: [{name: g, interval: 50ms, tags: [{address: DB7.DBW2:INT, name: d7}]}]
EOF
"$BIN" sync --config "$TMP/plus.yaml" > "$TMP/eng" 2>&1 &
ENG=$!
shm_check "t['plus.w0']['value'] == 4321 and t['auto.m10']['value'] == 99 and t['classic.d7']['value'] == 78 and t['plus.level']['value'] == 12.5 and \
all(v['quality'] == 'good' for k, v in t.items() if k != 'plus.nope') and t['plus.nope']['quality'] == 'error'"
kill -INT "$ENG"; wait "$ENG" || fail "engine exit status $? after SIGINT"; ENG=
# a symbol the PLC does not have (its type given: the engine starts): that tag in error, said once
grep -q 'plus: "Nope".Speed: s7plus: the PLC has no data block "Nope" (the tag is in error)' "$TMP/eng" ||
  fail "unknown symbol not reported: $(cat "$TMP/eng")"
grep -q "classic: protocol=auto: S7CommPlus not used (TLS needs the PLC's CA certificate" "$TMP/eng" ||
  fail "auto without ca= did not say why it went classic: $(cat "$TMP/eng")"
# only the auto device has insecure=1: its warning shows it speaks S7CommPlus
grep -q "NOT verified (insecure=1)" "$TMP/eng" || fail "auto with insecure=1 did not go S7CommPlus: $(cat "$TMP/eng")"

# ---- bad configuration: a clear error, nothing started ----
expect 1 "unknown parameter" "$BIN" sync "s7plus://127.0.0.1:$PORT?bogus=1" --tag DB1.DBW0 --seconds 1 --shm "$NAME"
expect 1 "needs the PLC's CA certificate" "$BIN" sync "s7plus://127.0.0.1:$PORT" --tag DB1.DBW0 --seconds 1 --shm "$NAME"
expect 1 "protocol=bogus" "$BIN" sync "s7://127.0.0.1:$PORT?protocol=bogus" --tag DB1.DBW0 --seconds 1 --shm "$NAME"
expect 1 "password= is not supported by the sync engine" "$BIN" sync "$URL&password=x" --tag DB1.DBW0 --seconds 1 \
  --shm "$NAME"
expect 1 "PIW/PQW" "$BIN" sync "$URL" --tag PIW256 --seconds 1 --shm "$NAME"
expect 1 "timers and counters" "$BIN" sync "$URL" --tag T5 --seconds 1 --shm "$NAME"
# a symbol without a type: the PLC is asked while the engine is built
expect 1 'plc/tags: "Nope".Speed: s7plus: the PLC has no data block "Nope"' "$BIN" sync "$URL" --tag '"Nope".Speed' \
  --seconds 1 --shm "$NAME"
expect 1 "its type comes from the PLC, which cannot be reached now" "$BIN" sync "s7plus://127.0.0.1:1?insecure=1" \
  --tag '"Motor".Speed' --seconds 1 --shm "$NAME"
expect 1 "unknown type 'BOGUS'" "$BIN" sync "$URL" --tag '"Motor".Speed:BOGUS' --seconds 1 --shm "$NAME"
[ -e "/dev/shm/$NAME" ] && fail "segment left behind"
echo "ok"
