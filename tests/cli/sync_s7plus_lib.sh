# Shared by test_sync_s7plus.sh and test_sync_s7plus_sub.sh (plcio sync against
# plcio sim s7 over S7CommPlus), which source it after setting BIN (the plcio
# binary) and NAME (the engine's segment) and defining fail():
#   . "$(dirname "$0")/sync_s7plus_lib.sh"
# It makes TMP (a scratch directory) with line.db (an optimized DB "Line"),
# stops the simulator ($SIM) and the engine ($ENG) on exit, and defines
# cleanup, sim_port and shm_check besides what lib.sh defines.
TMP=$(mktemp -d)
SIM=
ENG=
cleanup() {
  [ -n "$ENG" ] && kill -9 "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill -9 "$SIM" 2>/dev/null
  rm -f "/dev/shm/$NAME" "/dev/shm/$NAME.ring"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"
export PLCIO_TEST_RUN="${PLCIO_TEST_RUN:-1}"

cat > "$TMP/line.db" <<'DB'
DATA_BLOCK "Line"
{ S7_Optimized_Access := 'TRUE' }
   STRUCT
      Motor : Struct
         Speed : Real := 1500.0;
         Running : Bool := TRUE;
      END_STRUCT;
      Counts : Array[0..9] of DInt;
      Name : String[20] := 'Line 1';
   END_STRUCT;
BEGIN
   Counts[2] := 42;
END_DATA_BLOCK
DB

# sim_port: PORT and CLASSIC (its s7:// URL) from the simulator's "listening on" line in $TMP/sim.out
sim_port() {
  PORT=$(sed -n 's/^listening on 127.0.0.1://p' "$TMP/sim.out")
  [ -n "$PORT" ] || fail "no port: $(cat "$TMP/sim.out")"
  CLASSIC="s7://127.0.0.1:$PORT"
}

# shm_check PYTHON [SECONDS]: wait until PYTHON (t: name -> tag object of the JSON
# rendition) evaluates true; fail with the segment's text otherwise.
shm_check() {
  local cond=$1 limit=${2:-15} i=0
  while :; do
    if "$BIN" shm "$NAME" --json > "$TMP/shm.json" 2>/dev/null &&
      python3 -c "import json,sys; t=json.load(sys.stdin)['tags']; sys.exit(0 if ($cond) else 1)" < "$TMP/shm.json" 2>/dev/null; then
      return 0
    fi
    i=$((i + 1)); [ $i -gt $((limit * 10)) ] && fail "segment never got to: $cond: $(cat "$TMP/shm.json" 2>&1)"
    sleep 0.1
  done
}
