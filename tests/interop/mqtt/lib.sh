# Shell helpers of the MQTT interop tests (test_mqtt.sh, test_mqtt_spool.sh), sourced after the
# test has defined fail() and TMP. Each waits for an event, never for "enough time" (a slow
# machine needs longer, a fast one is past it).

# wait_for FILE PATTERN WHAT [TENTHS]: until a background process wrote PATTERN into FILE
wait_for() {
  local i=0
  until grep -aq -- "$2" "$1" 2> /dev/null; do
    i=$((i + 1)); [ $i -gt "${4:-600}" ] && fail "$3: $(tail -20 "$1" 2> /dev/null | cut -c1-300)"; sleep 0.1
  done
}
# msub FILE MOSQUITTO_SUB_ARGS...: mosquitto_sub in the background (MSUB: its pid), returning
# once the broker acknowledged the subscription (-d: debug lines, line-buffered, in FILE.raw);
# msub_lines FILE: its messages alone into FILE; msub_stop: end it
msub() {
  local f=$1; shift
  timeout 120 stdbuf -oL mosquitto_sub -d "$@" > "$f.raw" 2>&1 &
  MSUB=$!
  wait_for "$f.raw" "received SUBACK" "mosquitto_sub $* did not subscribe"
}
msub_lines() { grep -v -e '^Client ' -e '^Subscribed (mid' "$1.raw" > "$1"; }
msub_stop() { [ -n "${MSUB:-}" ] && kill "$MSUB" 2>/dev/null && wait "$MSUB" 2>/dev/null; MSUB=; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# mosq_run CONF LOG: mosquitto in the background (MOSQ: its pid), returning once its log says
# it runs (it listens then; a ping over its port could be answered by whoever else took it);
# status 1 when it exited because its port was taken
mosq_run() {
  /usr/sbin/mosquitto -c "$1" > "$2" 2>&1 &
  MOSQ=$!
  local i=0
  until grep -q "mosquitto version .* running" "$2" 2> /dev/null; do
    if ! kill -0 "$MOSQ" 2> /dev/null; then
      wait "$MOSQ" 2> /dev/null; MOSQ=
      grep -q "Address already in use" "$2" && return 1
      fail "mosquitto -c $1 exited: $(cat "$2")"
    fi
    i=$((i + 1)); [ $i -gt 600 ] && fail "mosquitto -c $1 did not start: $(cat "$2")"; sleep 0.1
  done
}
