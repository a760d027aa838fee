# Shared by the Sparkplug test scripts (sourced after TMP, fail() and the PIDS
# variable exist): ports, brokers, waiting. Every process started here is
# marked with PLCIO_TEST_RUN (inherited from ctest) and listed in PIDS so the
# script's cleanup stops it.

# A free TCP port on 127.0.0.1 (bound, then released: the caller uses it at once).
pick_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_bg NAME command...: run in the background, output in $TMP/NAME.log,
# pid in $TMP/NAME.pid and in PIDS.
start_bg() {
  name=$1; shift
  "$@" > "$TMP/$name.log" 2>&1 &
  echo $! > "$TMP/$name.pid"
  PIDS="$PIDS $!"
}
pid_of() { cat "$TMP/$1.pid"; }
# stop NAME [SIGNAL]: stop it and wait for it to be gone.
stop() {
  p=$(pid_of "$1")
  kill -"${2:-TERM}" "$p" 2>/dev/null
  i=0
  while kill -0 "$p" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 200 ] && { kill -9 "$p" 2>/dev/null; break; }; sleep 0.05
  done
  wait "$p" 2>/dev/null
  return 0
}
stop_all() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  return 0
}

# wait_for FILE PATTERN [SECONDS] [COUNT]: until grep finds PATTERN COUNT times (default 1).
wait_for() {
  i=0; lim=$(( ${3:-30} * 10 )); want=${4:-1}
  while [ "$(grep -c -- "$2" "$1" 2>/dev/null || true)" -lt "$want" ]; do
    i=$((i + 1)); [ $i -gt $lim ] && fail "no '$2' (x$want) in $1 after ${3:-30} s: $(tail -5 "$1" 2>/dev/null)"
    sleep 0.1
  done
}
count_of() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# start_mosquitto NAME [PORT]: a mosquitto broker on 127.0.0.1:PORT (no persistence), waited
# for until it runs; MQ_PORT: its port. Without PORT one is picked free: mosquitto cannot
# listen on port 0 and say which it got, so when another process took the picked port before
# mosquitto bound it ("Address already in use"), again on a new one, 5 times at most. With
# PORT (a restart: clients know that one), a taken port fails the test.
start_mosquitto() {
  local try port i
  for try in 1 2 3 4 5; do
    port=${2:-$(pick_port)}
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$TMP/$1.conf"
    start_bg "$1" /usr/sbin/mosquitto -c "$TMP/$1.conf" -v
    i=0
    until grep -q "running" "$TMP/$1.log" 2>/dev/null; do
      if ! kill -0 "$(pid_of "$1")" 2>/dev/null; then
        grep -q "Address already in use" "$TMP/$1.log" && [ -z "${2:-}" ] && break
        fail "mosquitto $1 on port $port exited: $(tail -5 "$TMP/$1.log")"
      fi
      i=$((i + 1)); [ $i -gt 200 ] && fail "mosquitto $1 did not start in 20 s: $(tail -5 "$TMP/$1.log")"
      sleep 0.1
    done
    if grep -q "running" "$TMP/$1.log"; then MQ_PORT=$port; return 0; fi
    echo "port $port was taken by another process before mosquitto bound it; trying another" >&2
  done
  fail "mosquitto $1: 5 picked ports in a row were taken by other processes"
}

# start_sim NAME [PORT]: plcio sim modbus on 127.0.0.1:PORT (0: any); sets SIM_PORT.
start_sim() {
  start_bg "$1" "$BIN" sim modbus --listen "127.0.0.1:${2:-0}" --size 100
  wait_for "$TMP/$1.log" "listening on" 20
  SIM_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/$1.log" | head -1)
}

# capture NAME PORT: every Sparkplug message (retained ones too) as "TOPIC HEX" lines.
capture() {
  start_bg "$1" mosquitto_sub -h 127.0.0.1 -p "$2" -q 1 -v -F '%t %x' -t 'spBv1.0/#' -i "cap-$1-$$"
}
