#!/bin/sh
# plcio sim s7 / sim modbus --churn: values change by themselves, read by
# foreign clients (snap7's through node-snap7, pymodbus's): without --churn
# the memory stays as it is; with it every 4-byte word becomes a REAL in
# 0..999.999 with at most three decimals and changes between reads; bad
# --churn values are usage errors that say what is wanted.
# usage: test_sim_churn.sh PLCIO_BIN INTEROP_DIR
set -u
BIN=$1
DIR=$2
TMP=$(mktemp -d)
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

for bad in 0 abc 5000 10:0 10:101 10:x -1; do
  expect 2 "--churn wants RATE\[:PERCENT\]" "$BIN" sim s7 --listen 127.0.0.1:0 --churn "$bad" --seconds 1
  expect 2 "--churn wants RATE\[:PERCENT\]" "$BIN" sim modbus --tcp 127.0.0.1:0 --churn "$bad" --seconds 1
done

port_of() { head -1 "$1" | sed 's/.*:\([0-9]*\).*/\1/'; }

"$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --db 5:400 --churn 50 --seconds 60 > "$TMP/churn" &
PIDS="$PIDS $!"
"$BIN" sim s7 --listen 127.0.0.1:0 --no-s7plus --db 5:400 --seconds 60 > "$TMP/still" &
PIDS="$PIDS $!"
wait_listen "$TMP/churn"
wait_listen "$TMP/still"

# snap7's client reads DB5 three times, 100 ms apart.
cat > "$TMP/read.js" <<'JS'
'use strict';
const snap7 = require('node-snap7');
setTimeout(() => { console.log('FAIL timeout'); process.exit(3); }, 20000).unref();
const [port, churning] = [parseInt(process.argv[2], 10), process.argv[3] === 'yes'];
const c = new snap7.S7Client();
c.SetParam(c.RemotePort, port);
if (!c.ConnectTo('127.0.0.1', 0, 1)) { console.log('FAIL connect'); process.exit(1); }
const sleep = ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const reads = [];
for (let i = 0; i < 3; i++) { reads.push(c.DBRead(5, 0, 400)); sleep(100); }
let bad = 0, changed = 0;
for (let w = 0; w < 100; w++) {
  const v = reads[2].readFloatBE(4 * w);
  if (churning && !(v >= 0 && v < 1000 && Math.abs(Math.round(v * 1000) - v * 1000) < 0.5)) bad++;
  if (!churning && v !== 0) bad++;
  if (reads[0].readUInt32BE(4 * w) !== reads[2].readUInt32BE(4 * w)) changed++;
}
console.log(`words ${bad} out of range, ${changed} of 100 changed`);
process.exit(bad === 0 && (churning ? changed >= 90 : changed === 0) ? 0 : 1);
JS
NODE_PATH="$DIR/node_modules" node "$TMP/read.js" "$(port_of "$TMP/churn")" yes > "$TMP/r1" 2>&1 ||
  fail "sim s7 --churn 50: $(cat "$TMP/r1")"
NODE_PATH="$DIR/node_modules" node "$TMP/read.js" "$(port_of "$TMP/still")" no > "$TMP/r2" 2>&1 ||
  fail "sim s7 without --churn: $(cat "$TMP/r2")"

"$BIN" sim modbus --tcp 127.0.0.1:0 --size 200 --churn 50 --seconds 60 > "$TMP/mb" &
PIDS="$PIDS $!"
wait_listen "$TMP/mb"
cat > "$TMP/read.py" <<'PY'
import struct, sys, time
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]))
assert c.connect()
reads = []
for _ in range(3):
    hr = c.read_holding_registers(0, 100, slave=1).registers
    ir = c.read_input_registers(0, 100, slave=1).registers
    reads.append((hr, ir))
    time.sleep(0.1)
bad = changed = 0
for table in (0, 1):
    first, last = reads[0][table], reads[2][table]
    for w in range(50):
        v = struct.unpack(">f", struct.pack(">HH", last[2 * w], last[2 * w + 1]))[0]
        if not (0 <= v < 1000 and abs(round(v * 1000) - v * 1000) < 0.5):
            bad += 1
        if first[2 * w:2 * w + 2] != last[2 * w:2 * w + 2]:
            changed += 1
print(f"pairs {bad} out of range, {changed} of 100 changed")
sys.exit(0 if bad == 0 and changed >= 90 else 1)
PY
/usr/bin/python3 "$TMP/read.py" "$(port_of "$TMP/mb")" > "$TMP/r3" 2>&1 || fail "sim modbus --churn 50: $(cat "$TMP/r3")"
echo "ALL OK"
