#!/bin/sh
# make install's CLI part: into a temporary PREFIX go the plcio binary, the
# man pages generated from the option tables (plcio(1) and one per command)
# and the bash completion; the installed pages render and name the options.
# usage: test_install.sh BUILD_DIR
set -u
BUILD=$1
TMP=$(mktemp -d)
cleanup() { rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

cmake --install "$BUILD" --prefix "$TMP/prefix" > "$TMP/log" 2>&1 || fail "cmake --install: $(cat "$TMP/log")"
P=$TMP/prefix
[ -x "$P/bin/plcio" ] || fail "no $P/bin/plcio"
"$P/bin/plcio" --list-options > "$TMP/table" || fail "installed plcio does not run"
grep -v -- ' --' "$TMP/table" | sed 's/ .*//' | sort -u > "$TMP/commands"
n=0
while read -r cmd; do
  page=$P/share/man/man1/plcio-$cmd.1
  [ -s "$page" ] || fail "make install left out $page"
  n=$((n + 1))
done < "$TMP/commands"
[ "$n" -ge 18 ] || fail "only $n commands"
[ -s "$P/share/man/man1/plcio.1" ] || fail "no plcio.1"
[ -s "$P/share/bash-completion/completions/plcio" ] || fail "no bash completion"
bash -n "$P/share/bash-completion/completions/plcio" || fail "the completion script is not valid bash"
# man(1) renders the installed pages (man-db: scripts/bootstrap.sh installs it)
MANWIDTH=200 man -l "$P/share/man/man1/plcio-sim.1" > "$TMP/page" 2> /dev/null || fail "man -l plcio-sim.1"
grep -q -- "--listen HOST:PORT" "$TMP/page" || fail "plcio-sim(1) does not show --listen: $(head -20 "$TMP/page")"
MANWIDTH=200 man -l "$P/share/man/man1/plcio.1" > "$TMP/page" 2> /dev/null || fail "man -l plcio.1"
grep -q "plcio control" "$TMP/page" || fail "plcio(1) does not list plcio control"
echo "ok: $n man pages, completion, binary under $P"
