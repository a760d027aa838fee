# Shared by the CLI test scripts, which source it after setting TMP (a scratch
# directory) and defining fail():   . "$(dirname "$0")/lib.sh"

# expect STATUS PATTERN command...: run the command (stdout in $TMP/out, stderr
# in $TMP/err), check its exit status and, unless PATTERN is empty, that grep
# finds PATTERN in its stdout or stderr.
expect() {
  want=$1; pat=$2; shift 2
  "$@" > "$TMP/out" 2> "$TMP/err"; got=$?
  [ "$got" = "$want" ] || fail "$* -> exit $got, wanted $want: $(cat "$TMP/out" "$TMP/err")"
  if [ -n "$pat" ]; then
    grep -q -- "$pat" "$TMP/out" "$TMP/err" || fail "$*: no '$pat' in: $(cat "$TMP/out" "$TMP/err")"
  fi
}

# wait_listen FILE: wait (30 s at most) until a server started in the
# background has written its "listening on HOST:PORT" line into FILE.
wait_listen() {
  i=0
  while ! grep -q listening "$1" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "server did not start: $(cat "$1")"; sleep 0.1
  done
}

# wait_grep FILE PATTERN WHAT [TENTHS]: wait (60 s unless TENTHS tenths of a second)
# until a process running in the background has written PATTERN into FILE; fail with
# WHAT and the end of FILE otherwise. Wait for the event itself, never for "enough
# time": a slow machine needs longer, a fast one may be past a periodic line already.
wait_grep() {
  _wg=0
  while ! grep -q -- "$2" "$1" 2>/dev/null; do
    _wg=$((_wg + 1)); [ $_wg -gt "${4:-600}" ] && fail "$3: $(tail -20 "$1" 2>/dev/null)"; sleep 0.1
  done
}
