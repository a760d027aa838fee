#!/usr/bin/env bash
# The PostgreSQL historian output against a real PostgreSQL 15, started here: a
# temporary cluster (initdb + pg_ctl, socket directory and data in a temp dir,
# 127.0.0.1 on a picked port, password authentication), `plcio sim s7` as the
# PLC, `plcio sync --postgres` as the engine, psql to read back. Checks: the
# values psql finds are the ones the simulator serves (read independently with
# plcio read); values written while the database is stopped and restarted all
# arrive, in order, with their own timestamps; the queue bound drops (and says
# so); bad settings (wrong password, missing table with create off, nothing
# listening, a malformed connection string or table name) give clear errors.
# usage: test_historian_pg.sh PLCIO_BIN FIXTURES_DIR
set -u
BIN=$1
FIX=$2
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] || ! [ -x "$PGBIN/initdb" ] || ! command -v psql >/dev/null; then
  echo "SKIP: no PostgreSQL server (initdb) or psql: scripts/bootstrap.sh installs postgresql"; exit 77
fi
TMP=$(mktemp -d)
SIM= ENG= PGUP=
# initdb refuses to run as root: the cluster belongs to the Debian package's user postgres then.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "FAIL: running as root and no user postgres to own the cluster"; exit 1; }
  chown postgres "$TMP"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1; }
cleanup() {
  [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null
  [ -n "$PGUP" ] && pg_stop
  [ -n "${DEADP:-}" ] && kill "$DEADP" 2>/dev/null
  rm -rf "$TMP"
}
fail() { echo "FAIL: $*"; [ -f "$TMP/pg.log" ] && tail -5 "$TMP/pg.log"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- the cluster ----
PW="plcio-$$-$RANDOM"
printf '%s\n' "$PW" > "$TMP/pw"
chmod 644 "$TMP/pw"
as_pg "$PGBIN/initdb" -D "$TMP/data" -U plcio --pwfile="$TMP/pw" -A scram-sha-256 --no-sync > "$TMP/initdb.log" 2>&1 ||
  fail "initdb: $(cat "$TMP/initdb.log")"
PGPORT=
# The first start picks the port (postgres cannot listen on port 0 and say which it got):
# when another process took it before postgres bound it ("could not bind", "Address already
# in use"), again on a new one, 5 times at most. A restart keeps the port (the engine has it).
pg_start() {
  local try
  for try in 1 2 3 4 5; do
    [ -n "$PGPORT" ] && [ "$try" = 1 ] || PGPORT=$(free_port)
    if as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/pg.log" -w -t 60 \
      -o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1; then
      PGUP=1
      return 0
    fi
    grep -q "Address already in use" "$TMP/pg.log" || fail "pg_ctl start"
    [ -n "${CONN:-}" ] && fail "port $PGPORT was taken by another process while postgres was stopped"
    echo "port $PGPORT was taken by another process before postgres bound it; trying another" >&2
  done
  fail "postgres: 5 picked ports in a row were taken by other processes"
}
pg_start
printf '127.0.0.1:%s:*:plcio:%s\n' "$PGPORT" "$PW" > "$TMP/pgpass"
chmod 600 "$TMP/pgpass"
CONN="host=127.0.0.1 port=$PGPORT user=plcio dbname=postgres passfile=$TMP/pgpass"
q() { PGPASSFILE="$TMP/pgpass" psql -X -q -A -t -F '|' -h 127.0.0.1 -p "$PGPORT" -U plcio -d postgres -c "$1"; }
q "SELECT 1" > /dev/null || fail "psql cannot reach the cluster"

# ---- the PLC ----
"$BIN" sim s7 --listen 127.0.0.1:0 --db "7:$FIX/layouts/test_db.db" --seconds 300 > "$TMP/sim" 2>&1 &
SIM=$!
i=0
while ! grep -q "listening on" "$TMP/sim" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "simulator did not start: $(cat "$TMP/sim")"; sleep 0.1
done
URL="s7://127.0.0.1:$(grep "listening on" "$TMP/sim" | sed 's/.*://')?rack=0&slot=1"
L="$(cd "$FIX" && pwd)/layouts/test_db.db"
SHM="plcio-hist-pg-$$"

# ---- 1. values into a table plcio creates; compared with what the simulator serves ----
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --seconds 2 --shm "$SHM" --postgres "$CONN" \
  > "$TMP/out" 2> "$TMP/err" || fail "sync --postgres: $(cat "$TMP/out" "$TMP/err")"
grep -q . "$TMP/err" && fail "sync --postgres said: $(cat "$TMP/err")"
q "SELECT count(*) FROM pg_indexes WHERE tablename = 'plcio_samples' AND indexdef LIKE '%USING brin (\"time\")%'" |
  grep -qx 1 || fail "no BRIN index on plcio_samples.time: $(q "SELECT indexdef FROM pg_indexes")"
"$BIN" read "$URL" DB7.DBD0:REAL DB7.DBD4:REAL DB7.DBD8:REAL DB7.DBX12.0 DB7.DBX12.1 DB7.DBW14:INT DB7.DBW16:INT \
  > "$TMP/plc" || fail "plcio read"
# One line per member, in layout order: member value
paste -d' ' <(printf '%s\n' vx_scaled vy_scaled vz_scaled bool_1 bool_2 int_1 int_2) \
  <(sed 's/.* = //' "$TMP/plc") > "$TMP/want"
[ "$(wc -l < "$TMP/want")" = 7 ] || fail "unexpected plcio read output: $(cat "$TMP/plc")"
while read -r tag want; do
  # (GOOD: stopping the engine with a read in flight adds a STALE row per tag of that group; on a
  # loaded machine a late read may turn the tag STALE and GOOD again: a GOOD row more, after a
  # row of another quality. Rows on change only: never two GOOD rows in a row, all the same.)
  row=$(q "SELECT DISTINCT text, coalesce(value::text, 'NULL'), quality, device, reason IS NULL FROM plcio_samples
           WHERE tag = '$tag' AND quality = 'GOOD'")
  [ "$(printf '%s\n' "$row" | wc -l)" = 1 ] || fail "$tag: wanted one GOOD value (values never changed), got: $row"
  again=$(q "SELECT count(*) FROM (SELECT quality, lag(quality) OVER (ORDER BY time) AS prev FROM plcio_samples
             WHERE tag = '$tag') r WHERE quality = 'GOOD' AND prev = 'GOOD'")
  [ "$again" = 0 ] || fail "$tag: $again GOOD rows right after a GOOD row (on change only): $(q "SELECT time, quality FROM plcio_samples WHERE tag = '$tag' ORDER BY time")"
  IFS='|' read -r text value quality device noreason <<< "$row"
  [ "$text" = "$want" ] || fail "$tag: text '$text' in PostgreSQL, the simulator serves '$want'"
  case "$want" in
    true) num=1 ;; false) num=0 ;; *) num=$want ;;
  esac
  [ "$(/usr/bin/python3 -c "print(float('$value') == float('$num'))")" = True ] ||
    fail "$tag: value $value in PostgreSQL, the simulator serves $want"
  [ "$quality" = GOOD ] && [ "$device" = plc ] && [ "$noreason" = t ] || fail "$tag: row $row"
done < "$TMP/want"
q "SELECT count(*) FROM plcio_samples WHERE time < now() - interval '1 minute' OR time > now()" | grep -qx 0 ||
  fail "row times are not the read times: $(q "SELECT now(), min(time), max(time) FROM plcio_samples")"

# ---- 1b. sampling: every 200ms, not on change: rows keep coming for unchanged values, never closer ----
q "TRUNCATE plcio_samples"
cat > "$TMP/every.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - postgres: {conninfo: "$CONN", every: 200ms, on-change: false, flush: 50ms}
YAML
"$BIN" sync --config "$TMP/every.yaml" --seconds 1.5 --shm "$SHM" > "$TMP/out" 2> "$TMP/err" ||
  fail "sync every: $(cat "$TMP/err")"
q "SELECT count(DISTINCT tag) FROM plcio_samples" | grep -qx 9 || fail "every: not all 9 tags: $(q "SELECT tag, count(*) FROM plcio_samples GROUP BY 1")"
q "SELECT bool_and(n >= 2) FROM (SELECT count(*) n FROM plcio_samples WHERE quality = 'GOOD' GROUP BY tag) c" |
  grep -qx t || fail "every: unchanged values were not sampled again: $(q "SELECT tag, count(*) FROM plcio_samples GROUP BY 1")"
gap=$(q "SELECT coalesce(min(d), interval '1 hour') >= interval '200 ms' FROM (SELECT time - lag(time) OVER (PARTITION BY tag ORDER BY time) d
         FROM plcio_samples WHERE quality = 'GOOD') g")
[ "$gap" = t ] || fail "every: two rows of a tag closer than 200 ms: $(q "SELECT tag, time FROM plcio_samples ORDER BY tag, time")"

# ---- 2. the database stops and comes back mid-run: nothing lost, order and times kept ----
q "TRUNCATE plcio_samples"
"$BIN" sync "$URL" --db 7 --layout "$L" --interval 20 --shm "$SHM" --postgres "$CONN" > "$TMP/out" 2> "$TMP/err" &
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
  if [ "$v" = 10 ]; then pg_stop; PGUP=; fi
  if [ "$v" = 20 ]; then pg_start; fi
done
# the queue drains: wait until the last value is in the table
i=0
until q "SELECT count(*) FROM plcio_samples WHERE tag = 'int_1' AND quality = 'GOOD' AND text = '30'" 2> /dev/null | grep -qx '[1-9][0-9]*'; do
  i=$((i + 1)); [ $i -gt 600 ] && fail "int_1=30 never reached PostgreSQL: $(cat "$TMP/err")"; sleep 0.1
done
kill -INT "$ENG"; wait "$ENG"; st=$?; ENG=
[ "$st" = 0 ] || fail "sync exit $st: $(cat "$TMP/err")"
grep -q "cannot" "$TMP/err" || fail "the outage went unnoticed (no error logged): $(cat "$TMP/err")"
grep -q "writing again" "$TMP/err" || fail "no recovery logged: $(cat "$TMP/err")"
grep -q "dropped (queue" "$TMP/err" && fail "rows dropped within the queue bound: $(cat "$TMP/err")"
got=$(q "SELECT text FROM plcio_samples WHERE tag = 'int_1' AND quality = 'GOOD' ORDER BY time" | uniq | tr '\n' ' ')
# (uniq: delivery is at least once, a batch whose commit answer was lost may come twice, with the same
# times; and a poll cycle late enough to turn the value STALE on a busy machine gives it a second GOOD row)
[ "$got" = "21 $(seq -s ' ' 1 30) " ] || fail "int_1 by time: '$got', wanted 21 1 2 ... 30"
q "SELECT count(*) >= 31 FROM plcio_samples WHERE tag = 'int_1' AND quality = 'GOOD'" | grep -qx t ||
  fail "int_1 rows: $(q "SELECT text, time FROM plcio_samples WHERE tag = 'int_1' ORDER BY time")"

# ---- 3. the queue bound: a database that is down keeps only `queue` rows; the rest are dropped and counted ----
pg_stop; PGUP=
cat > "$TMP/small.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7, interval: 20ms}]}
outputs:
  - postgres: {conninfo: "$CONN", queue: 3}
YAML
"$BIN" sync --config "$TMP/small.yaml" --seconds 1.5 --shm "$SHM" > "$TMP/out" 2> "$TMP/err" ||
  fail "sync with the database down: $(cat "$TMP/err")"
grep -q "Connection refused\|connection refused" "$TMP/err" || fail "no 'connection refused': $(cat "$TMP/err")"
# 9 tags, one row each (more if the stop turns them STALE): 3 kept, the rest dropped
dropped=$(sed -n 's/.*3 still queued at exit, \([0-9]*\) dropped (queue of 3 full).*/\1/p' "$TMP/err")
[ -n "$dropped" ] && [ "$dropped" -ge 6 ] || fail "queue bound not reported: $(cat "$TMP/err")"
pg_start

# ---- 4. bad settings: clear errors ----
expect_err() { # PATTERN EXIT sync-arguments...
  local pat=$1 want=$2; shift 2
  "$BIN" sync "$@" --seconds 1.5 --shm "$SHM" > "$TMP/out" 2> "$TMP/err"; st=$?
  [ "$st" = "$want" ] || fail "sync $* -> exit $st, wanted $want: $(cat "$TMP/err")"
  grep -q -- "$pat" "$TMP/err" || fail "sync $*: no '$pat' in: $(cat "$TMP/err")"
}
PGPASSWORD=wrong expect_err 'postgres.*password authentication failed for user "plcio"' 0 \
  "$URL" --db 7 --layout "$L" --postgres "host=127.0.0.1 port=$PGPORT user=plcio dbname=postgres"
# a port nobody listens on and nobody can take meanwhile: held, bound but not listening, by
# a process of ours while the engine tries it
/usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(120)' > "$TMP/dead.port" &
DEADP=$!
i=0
until grep -q '^[0-9]' "$TMP/dead.port"; do i=$((i + 1)); [ $i -gt 300 ] && fail "port holder did not start"; sleep 0.1; done
expect_err 'postgres.*Connection refused' 0 "$URL" --db 7 --layout "$L" --postgres "host=127.0.0.1 port=$(cat "$TMP/dead.port") user=plcio"
kill "$DEADP"; wait "$DEADP" 2>/dev/null; DEADP=
expect_err "bad connection string: missing \"=\" after \"nonsense\"" 1 "$URL" --db 7 --layout "$L" --postgres "nonsense"
expect_err "go with a device URL" 2 --config "$TMP/small.yaml" --postgres "$CONN"
cat > "$TMP/nocreate.yaml" <<YAML
layouts: ["$L"]
devices:
  - {name: plc, url: "$URL", groups: [{db: 7}]}
outputs:
  - postgres: {conninfo: "$CONN", table: no_such_table, create: false}
YAML
expect_err "table no_such_table does not exist and create is off" 0 --config "$TMP/nocreate.yaml"
sed -i 's/table: no_such_table/table: "x; DROP TABLE plcio_samples"/' "$TMP/nocreate.yaml"
expect_err "table 'x; DROP TABLE plcio_samples': use a plain name" 1 --config "$TMP/nocreate.yaml"
q "SELECT count(*) > 0 FROM plcio_samples" | grep -qx t || fail "plcio_samples lost its rows"
sed -i 's/table: .*, create: false/tabel: x/' "$TMP/nocreate.yaml"
expect_err "unknown key 'tabel' in postgres output" 2 --config "$TMP/nocreate.yaml"
echo "interop_historian_pg: all checks passed"
