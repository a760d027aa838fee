#!/bin/sh
# The web console in headless chromium (console_test.js) against plcio sim s7 +
# plcio sync --http. Everything started here stops on the way out.
# env: PLCIO_BIN, PLCIO_FIXTURES, PLCIO_WEB_OUT (where the screenshot goes)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${PLCIO_WEB_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
TMP=$(mktemp -d)
SIM=
ENG=
cleanup() {
  [ -n "$ENG" ] && kill "$ENG" 2>/dev/null
  [ -n "$SIM" ] && kill "$SIM" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
fail() { echo "FAIL: $*"; exit 1; }

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium is missing (Debian chromium): run scripts/bootstrap.sh"
[ -f "$HERE/node_modules/puppeteer-core/package.json" ] ||
  fail "puppeteer-core is not installed in tests/web: run scripts/bootstrap.sh"
command -v node >/dev/null || fail "node is missing: run scripts/bootstrap.sh"

L="$PLCIO_FIXTURES/layouts/test_db.db"
"$PLCIO_BIN" sim s7 --listen 127.0.0.1:0 --db "7:$L" --seconds 240 > "$TMP/sim" 2>&1 &
SIM=$!
i=0
until grep -q "listening on" "$TMP/sim"; do
  i=$((i + 1)); [ $i -gt 600 ] && fail "simulator did not start: $(cat "$TMP/sim")"; sleep 0.05
done
URL="s7://127.0.0.1:$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$TMP/sim")?rack=0&slot=1"
TOKEN="console-test-$$-token"
printf '%s\n' "$TOKEN" > "$TMP/token"
"$PLCIO_BIN" sync "$URL" --db 7 --layout "$L" --interval 50 --stats 60000 --seconds 240 --shm "plcio-web-console-$$" \
  --http 127.0.0.1:0 --http-token-file "$TMP/token" --http-writes > "$TMP/eng" 2>&1 &
ENG=$!
i=0
until grep -q "on port" "$TMP/eng"; do
  i=$((i + 1)); [ $i -gt 600 ] && fail "engine did not start: $(cat "$TMP/eng")"; sleep 0.05
done
PORT=$(sed -n 's/.*on port \([0-9]*\).*/\1/p' "$TMP/eng")

PLC_URL=$URL HTTP_PORT=$PORT TOKEN=$TOKEN OUT_DIR=$OUT CHROMIUM=$CHROMIUM node "$HERE/console_test.js" || {
  echo "engine output:"; cat "$TMP/eng"; fail "console test"; }
kill -0 "$ENG" 2>/dev/null || fail "the engine died: $(cat "$TMP/eng")"
[ -s "$OUT/console.png" ] || fail "no screenshot in $OUT"
echo "ok: console test passed; screenshot $OUT/console.png"
