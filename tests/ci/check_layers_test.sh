#!/usr/bin/env bash
# The layer check fails where it must: a copy of the tree passes, then each planted
# violation (an arrow up between library layers, peers including each other, a tool or
# benchmark reaching into src/) makes scripts/check-layers.sh exit 1 and name the line.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$src"
git ls-files src include tools bench scripts/check-layers.sh | tar cf - -T - | tar xf - -C "$tmp"
cd "$tmp"
git init -q && git add -A
scripts/check-layers.sh "$tmp" >/dev/null || { echo "FAIL: the unchanged tree does not pass"; exit 1; }

plant() { # FILE LINE EXPECTED-MESSAGE
  cp "$1" "$1.orig"
  printf '%s\n' "$2" >>"$1"
  if out=$(scripts/check-layers.sh "$tmp" 2>&1); then
    echo "FAIL: '$2' in $1 passed the check"; exit 1
  fi
  grep -qF "$3" <<<"$out" || { echo "FAIL: '$2' in $1: no '$3' in: $out"; exit 1; }
  mv "$1.orig" "$1"
  echo "ok: $1: $2 -> $(grep -F "$3" <<<"$out" | head -n 1)"
}
plant src/core/error.c '#include "sync/sync_internal.h"' "src/core/error.c:"
plant src/tag/value.c '#include "plcio/modbus.h"' "tag (layer 2) includes plcio/modbus.h of modbus (layer 4)"
plant src/s7/s7_codec.c '#include "modbus/mb_codec.h"' "s7 (layer 4) includes modbus/mb_codec.h of modbus (layer 4)"
plant include/plcio/value.h '#include "plcio/shm.h"' "include/plcio/value.h:"
plant tools/plcio/cli.c '#include "net/net.h"' "tools/ and bench/ use the public headers"
plant src/net/net.c '#include "plcio/plcio.h"' "the umbrella header is for users"
scripts/check-layers.sh "$tmp" >/dev/null || { echo "FAIL: the restored tree does not pass"; exit 1; }
echo "1 passed, 0 failed"
