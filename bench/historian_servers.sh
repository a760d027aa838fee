#!/usr/bin/env bash
# Start what bench_historian writes to, run it, and remove everything again: a
# temporary PostgreSQL cluster (as user postgres when run as root; fsync on, as
# a real historian runs) and an influxd, both on picked 127.0.0.1 ports in a temp dir.
# usage: historian_servers.sh BENCH_BINARY
set -u
BENCH=$1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
TMP=$(mktemp -d)
INFLUX=
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$INFLUX" ] && kill "$INFLUX" 2>/dev/null && wait "$INFLUX" 2>/dev/null
  [ -d "$TMP/data" ] && as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[ "$(id -u)" = 0 ] && chown postgres "$TMP"
if [ -n "$PGBIN" ]; then
  PGPORT=$(free_port)
  as_pg "$PGBIN/initdb" -D "$TMP/data" -U plcio -A trust > /dev/null 2>&1 &&
    as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/pg.log" -w -t 60 \
      -o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_wal_size=2GB" start >/dev/null &&
    export PLCIO_BENCH_PG="host=$TMP port=$PGPORT user=plcio dbname=postgres"
fi
if command -v influxd >/dev/null; then
  HP=$(free_port)
  mkdir -p "$TMP/influx"
  printf 'reporting-disabled = true\nbind-address = "127.0.0.1:%s"\n[meta]\n  dir = "%s/influx/meta"\n[data]\n  dir = "%s/influx/data"\n  wal-dir = "%s/influx/wal"\n  query-log-enabled = false\n[monitor]\n  store-enabled = false\n[http]\n  bind-address = "127.0.0.1:%s"\n  log-enabled = false\n[logging]\n  level = "warn"\n  suppress-logo = true\n' \
    "$(free_port)" "$TMP" "$TMP" "$TMP" "$HP" > "$TMP/influx/influxd.conf"
  influxd -config "$TMP/influx/influxd.conf" > "$TMP/influx/log" 2>&1 &
  INFLUX=$!
  for _ in $(seq 100); do
    /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$HP/ping', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
  /usr/bin/python3 -c "import urllib.request, urllib.parse; urllib.request.urlopen('http://127.0.0.1:$HP/query', data=urllib.parse.urlencode({'q': 'CREATE DATABASE bench'}).encode())" &&
    export PLCIO_BENCH_INFLUX="http://127.0.0.1:$HP" 
fi
PLCIO_BENCH_SERVERS=1 "$BENCH"
