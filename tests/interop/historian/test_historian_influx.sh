#!/usr/bin/env bash
# The line-protocol historian output against a real InfluxDB 1.x (Debian's
# influxd), started here with a config written into a temp dir (HTTP and RPC on
# picked 127.0.0.1 ports, data/meta/wal in the temp dir, reporting disabled).
# `plcio sim s7` is the PLC, `plcio sync --influx` the engine, InfluxDB's HTTP
# /query API reads back. Checks: the points hold the values the simulator
# serves (read independently with plcio read), with tags device/tag/quality and
# fields value/text; values written while influxd is stopped and restarted all
# arrive in order with their own timestamps; gzip bodies are accepted; bad
# settings (no such database, nothing listening, https, a 2.x URL without a
# token) give clear errors.
# usage: test_historian_influx.sh PLCIO_BIN FIXTURES_DIR
set -u
BIN=$1
FIX=$2
if ! command -v influxd >/dev/null; then
  echo "SKIP: no influxd: scripts/bootstrap.sh installs Debian's influxdb"; exit 77
fi
TMP=$(mktemp -d)
SIM= ENG= INFLUX=
influx_stop() { [ -n "$INFLUX" ] && kill "$INFLUX" 2>/dev/null && wait "$INFLUX" 2>/dev/null; INFLUX=; }
cleanup() {
  [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null
  influx_stop
  [ -n "${DEADP:-}" ] && kill "$DEADP" 2>/dev/null
  rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; [ -f "$TMP/influxd.log" ] && tail -5 "$TMP/influxd.log"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cat > "$TMP/influxd.conf.in" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:@RPC@"
[meta]
  dir = "$TMP/meta"
[data]
  dir = "$TMP/data"
  wal-dir = "$TMP/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:@HP@"
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
CONF
# query.py DB INFLUXQL: one line per point, columns joined by |, times in ns; or "ping" / "create DB"
cat > "$TMP/query.py" <<'PY'
import json, sys, urllib.error, urllib.parse, urllib.request
base = sys.argv[1]
if sys.argv[2] == "ping":
    try:
        urllib.request.urlopen(base + "/ping", timeout=2)
    except Exception:
        sys.exit(1)
    sys.exit(0)
if sys.argv[2] == "create":
    data = urllib.parse.urlencode({"q": "CREATE DATABASE " + sys.argv[3]}).encode()
    urllib.request.urlopen(base + "/query", data=data, timeout=10)
    sys.exit(0)
url = base + "/query?" + urllib.parse.urlencode({"db": sys.argv[2], "q": sys.argv[3], "epoch": "ns"})
try:
    res = json.load(urllib.request.urlopen(url, timeout=10))["results"][0]
except urllib.error.HTTPError as e:
    sys.exit("query error: HTTP %d: %s" % (e.code, e.read().decode()))
if "error" in res:
    sys.exit("query error: " + res["error"])
for s in res.get("series", []):
    for row in s["values"]:
        print("|".join("" if v is None else str(v) for v in row))
PY
iq() { /usr/bin/python3 "$TMP/query.py" "$BASE" "$@"; }
# The first start picks the ports (influxd cannot listen on port 0 and say which it got):
# when another process took one before influxd bound it, influxd exits ("address already in
# use"): again on new ones, 5 times at most. A restart keeps them (the engine has HP).
HP=
influx_start() {
  local try i
  for try in 1 2 3 4 5; do
    if [ -z "$HP" ] || [ "$try" -gt 1 ]; then
      [ -n "${BASE:-}" ] && fail "port $HP or $RPC was taken by another process while influxd was stopped"
      HP=$(free_port) RPC=$(free_port)
      sed "s/@HP@/$HP/; s/@RPC@/$RPC/" "$TMP/influxd.conf.in" > "$TMP/influxd.conf"
    fi
    influxd -config "$TMP/influxd.conf" > "$TMP/influxd.log" 2>&1 &
    INFLUX=$!
    i=0
    until /usr/bin/python3 "$TMP/query.py" "http://127.0.0.1:$HP" ping; do
      kill -0 "$INFLUX" 2>/dev/null || break
      i=$((i + 1)); [ $i -gt 150 ] && fail "influxd did not start: $(tail -5 "$TMP/influxd.log")"; sleep 0.1
    done
    if kill -0 "$INFLUX" 2>/dev/null; then BASE="http://127.0.0.1:$HP"; return 0; fi
    wait "$INFLUX" 2>/dev/null; INFLUX=
    grep -qi "address already in use" "$TMP/influxd.log" || fail "influxd exited: $(tail -5 "$TMP/influxd.log")"
    echo "port $HP or $RPC was taken by another process before influxd bound it; trying others" >&2
  done
  fail "influxd: 5 picked port pairs in a row were taken by other processes"
}
influx_start
iq create plant || fail "CREATE DATABASE"

"$BIN" sim s7 --listen 127.0.0.1:0 --db "7:$FIX/layouts/test_db.db" --seconds 300 > "$TMP/sim" 2>&1 &
SIM=$!
i=0
while ! grep -q "listening on" "$TMP/sim" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "simulator did not start: $(cat "$TMP/sim")"; sleep 0.1
done
URL="s7://127.0.0.1:$(grep "listening on" "$TMP/sim" | sed 's/.*://')?rack=0&slot=1"
L="$(cd "$FIX" && pwd)/layouts/test_db.db"
SHM="plcio-hist-influx-$$"
W="$BASE/write?db=plant"

# ---- 1. points hold what the simulator serves ----
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --seconds 2 --shm "$SHM" --influx "$W" \
  > "$TMP/out" 2> "$TMP/err" || fail "sync --influx: $(cat "$TMP/out" "$TMP/err")"
grep -q . "$TMP/err" && fail "sync --influx said: $(cat "$TMP/err")"
"$BIN" read "$URL" DB7.DBD0:REAL DB7.DBD4:REAL DB7.DBD8:REAL DB7.DBX12.0 DB7.DBX12.1 DB7.DBW14:INT DB7.DBW16:INT \
  > "$TMP/plc" || fail "plcio read"
paste -d' ' <(printf '%s\n' vx_scaled vy_scaled vz_scaled bool_1 bool_2 int_1 int_2) <(sed 's/.* = //' "$TMP/plc") > "$TMP/want"
[ "$(wc -l < "$TMP/want")" = 7 ] || fail "unexpected plcio read output: $(cat "$TMP/plc")"
now=$(date +%s%N)
while read -r tag want; do
  # (on a loaded machine a late read may turn the tag STALE and GOOD again: a GOOD point more,
  # after one of another quality; points on change only: never two GOOD in a row, all the same)
  all=$(iq plant "SELECT time, \"text\", \"value\", \"quality\", \"device\" FROM plcio WHERE \"tag\" = '$tag'") || fail "query $tag"
  again=$(printf '%s\n' "$all" | awk -F'|' 'NF { if ($4 == "GOOD" && prev == "GOOD") n++; prev = $4 } END { print n + 0 }')
  [ "$again" = 0 ] || fail "$tag: $again GOOD points right after a GOOD point (on change only): $all"
  rows=$(printf '%s\n' "$all" | awk -F'|' '$4 == "GOOD"')
  [ "$(printf '%s\n' "$rows" | cut -d'|' -f2- | sort -u | grep -c .)" = 1 ] ||
    fail "$tag: wanted one GOOD value (values never changed), got: $rows"
  rows=$(printf '%s\n' "$rows" | head -1)
  IFS='|' read -r t text value quality device <<< "$rows"
  [ "$text" = "$want" ] || fail "$tag: text '$text' in InfluxDB, the simulator serves '$want'"
  case "$want" in true) num=1 ;; false) num=0 ;; *) num=$want ;; esac
  [ "$(/usr/bin/python3 -c "print(float('$value') == float('$num'))")" = True ] ||
    fail "$tag: value '$value' in InfluxDB, the simulator serves $want"
  [ "$quality" = GOOD ] && [ "$device" = plc ] || fail "$tag: point $rows"
  [ "$t" -le "$now" ] && [ "$t" -gt $((now - 60000000000)) ] || fail "$tag: time $t is not the read time (now $now)"
done < "$TMP/want"

# ---- 2. influxd stops and comes back mid-run: nothing lost, order and times kept ----
iq plant "DROP MEASUREMENT plcio" > /dev/null || fail "DROP MEASUREMENT"
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --shm "$SHM" --influx "$W" > "$TMP/out" 2> "$TMP/err" &
ENG=$!
# events, not time: the engine has read the start value (21) before the first write, and each
# value before the next is written (its segment shows it), so none is overwritten unseen
engine_read() { # V: wait until the engine's segment holds int_1 = V
  local i=0
  until "$BIN" shm "$SHM" --json 2> /dev/null | grep -q "\"int_1\":{\"value\":$1,"; do
    i=$((i + 1)); [ $i -gt 600 ] && fail "the engine did not read int_1=$1: $(cat "$TMP/err")"; sleep 0.05
  done
}
engine_read 21
for v in $(seq 1 30); do
  "$BIN" write "$URL" "DB7.DBW14:INT=$v" > /dev/null || fail "plcio write $v"
  engine_read "$v"
  [ "$v" = 10 ] && influx_stop
  [ "$v" = 20 ] && influx_start
done
# the queue drains: wait until the last value is in InfluxDB
i=0
until iq plant "SELECT \"text\" FROM plcio WHERE \"tag\" = 'int_1' AND \"quality\" = 'GOOD' AND \"text\" = '30'" 2> /dev/null | grep -q .; do
  i=$((i + 1)); [ $i -gt 600 ] && fail "int_1=30 never reached InfluxDB: $(cat "$TMP/err")"; sleep 0.1
done
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync exit $st: $(cat "$TMP/err")"
grep -q "cannot" "$TMP/err" || fail "the outage went unnoticed (no error logged): $(cat "$TMP/err")"
grep -q "writing again" "$TMP/err" || fail "no recovery logged: $(cat "$TMP/err")"
got=$(iq plant "SELECT \"text\" FROM plcio WHERE \"tag\" = 'int_1' AND \"quality\" = 'GOOD'" | cut -d'|' -f2 | uniq |
  tr '\n' ' ')
# (a point written twice, same series and time, is one point in InfluxDB; uniq: a poll cycle
# late enough to turn the value STALE on this busy machine gives it a second GOOD point later)
[ "$got" = "21 $(seq -s ' ' 1 30) " ] || fail "int_1 by time: '$got', wanted 21 1 2 ... 30"

# ---- 3. gzip bodies ----
iq plant "DROP MEASUREMENT plcio" > /dev/null || fail "DROP MEASUREMENT"
cat > "$TMP/gzip.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - influx: {url: "$W", gzip: true, batch: 2, flush: 50ms}
YAML
"$BIN" sync --config "$TMP/gzip.yaml" --seconds 1.5 --shm "$SHM" > "$TMP/out" 2> "$TMP/err" || fail "sync gzip: $(cat "$TMP/err")"
grep -q . "$TMP/err" && fail "sync gzip said: $(cat "$TMP/err")"
[ "$(iq plant "SELECT count(\"text\") FROM plcio WHERE \"quality\" = 'GOOD'" | cut -d'|' -f2)" = 9 ] ||
  fail "gzip: wanted 9 points: $(iq plant "SELECT * FROM plcio")"

# ---- 4. bad settings: clear errors ----
expect_err() { # PATTERN EXIT sync-arguments...
  local pat=$1 want=$2; shift 2
  "$BIN" sync "$@" --seconds 1.5 --shm "$SHM" > "$TMP/out" 2> "$TMP/err"; st=$?
  [ "$st" = "$want" ] || fail "sync $* -> exit $st, wanted $want: $(cat "$TMP/err")"
  grep -q -- "$pat" "$TMP/err" || fail "sync $*: no '$pat' in: $(cat "$TMP/err")"
}
expect_err 'influx.*HTTP 404.*database not found' 0 "$URL" --db 7 --layout "$L" --influx "$BASE/write?db=nosuch"
# a port nobody listens on and nobody can take meanwhile: held, bound but not listening, by
# a process of ours while the engine tries it
/usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(120)' > "$TMP/dead.port" &
DEADP=$!
i=0
until grep -q '^[0-9]' "$TMP/dead.port"; do i=$((i + 1)); [ $i -gt 300 ] && fail "port holder did not start"; sleep 0.1; done
expect_err 'influx.*connection refused' 0 "$URL" --db 7 --layout "$L" --influx "http://127.0.0.1:$(cat "$TMP/dead.port")/write?db=plant"
kill "$DEADP"; wait "$DEADP" 2>/dev/null; DEADP=
expect_err 'https is not supported' 1 "$URL" --db 7 --layout "$L" --influx "https://127.0.0.1:$HP/write?db=plant"
expect_err 'is not an http:// URL' 1 "$URL" --db 7 --layout "$L" --influx "127.0.0.1:$HP"
INFLUX_TOKEN= expect_err 'needs a token' 1 "$URL" --db 7 --layout "$L" --influx "$BASE/api/v2/write?org=o&bucket=b"
echo "interop_historian_influx: all checks passed"
