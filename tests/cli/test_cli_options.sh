#!/bin/bash
# The option layer (tools/plcio/options.c): for every command and every
# option of its table (plcio --list-options), --help exits 0 and lists it,
# the generated man page documents it and bash completion offers it;
# --opt=value and --opt value; old spellings still work; unknown options name
# the valid ones. No peer: only plcio's own simulators.
# usage: test_cli_options.sh PLCIO_BIN
set -u
BIN=$1
TMP=$(mktemp -d)
SIM=
cleanup() { [ -n "$SIM" ] && kill "$SIM" 2>/dev/null; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. "$(dirname "$0")/lib.sh"

"$BIN" --list-options > "$TMP/table" || fail "plcio --list-options"
commands=$(grep -v -- ' --' "$TMP/table")
[ "$(echo "$commands" | wc -l)" -ge 19 ] || fail "too few commands in the tables: $commands"
"$BIN" --generate-docs "$TMP/gen" || fail "plcio --generate-docs"
# shellcheck disable=SC1091
source "$TMP/gen/bash-completion/plcio"

# completion words for a command line (the word being completed last)
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _plcio
  echo "${COMPREPLY[*]}"
}

checked=0
while read -r cmd; do
  # shellcheck disable=SC2086
  expect 0 "" "$BIN" $cmd --help
  cp "$TMP/out" "$TMP/help"
  [ -s "$TMP/help" ] || fail "plcio $cmd --help printed nothing"
  page="$TMP/gen/man1/plcio-${cmd%% *}.1"
  [ -s "$page" ] || fail "no man page $page"
  # shellcheck disable=SC2086
  words=$(complete_words plcio $cmd --)
  grep "^$cmd " "$TMP/table" | while read -r -a f; do
    # fields: the command's words, the option, and "alias" for an old spelling (no forks
    # per option: a loaded machine made this loop the slowest part of the suite)
    n=${#f[@]}
    opt=${f[n - 1]} alias=
    [ "$opt" = alias ] && opt=${f[n - 2]} alias=1
    man_opt=${opt//-/'\\-'}
    if [ -n "$alias" ]; then
      # an old spelling: named as such in --help and the man page, still accepted
      grep -q -- "$opt (= " "$TMP/help" || fail "plcio $cmd --help does not name the old spelling $opt"
      grep -q -- "^\.B $man_opt\$" "$page" || fail "$page does not name the old spelling $opt"
    else
      grep -q -- "^  $opt\( \|$\)" "$TMP/help" || fail "plcio $cmd --help does not list $opt"
      grep -q -- "^\.BI \"$man_opt\( \|\"\)" "$page" || fail "$page does not document $opt"
      case " $words " in *" $opt "*) ;; *) fail "completion of 'plcio $cmd --' lacks $opt: $words" ;; esac
    fi
  done || exit 1
  checked=$((checked + 1))
done <<< "$commands"
echo "checked --help, man page and completion of $checked commands"

# plcio --help lists every command; plcio(1) names every page
expect 0 "" "$BIN" --help
while read -r cmd; do
  grep -q -- "plcio $cmd " "$TMP/out" || fail "plcio --help does not show plcio $cmd"
  grep -q -- "plcio\\\\-${cmd%% *}" "$TMP/gen/man1/plcio.1" || fail "plcio(1) does not name plcio-${cmd%% *}"
done <<< "$commands"
# the pages are valid roff for man(1) (groff: scripts/bootstrap.sh installs it)
for page in "$TMP"/gen/man1/*.1; do
  groff -man -Tutf8 -ww -z "$page" 2> "$TMP/groff" || fail "groff $page"
  [ -s "$TMP/groff" ] && fail "groff warns about $page: $(cat "$TMP/groff")"
done
[ "$(complete_words plcio sim "")" = "s7 modbus" ] || fail "completion of 'plcio sim': $(complete_words plcio sim "")"
[ "$(complete_words plcio sim modbus --lis)" = "--listen" ] || fail "completion of --lis"
case " $(complete_words plcio control s7://x "") " in *" hot-start "*) ;; *) fail "completion of control actions" ;; esac

# every command: --help and -h exit 0, wherever they stand
expect 0 "usage: plcio read" "$BIN" read s7://127.0.0.1:1 MW0 --help
expect 0 "usage: plcio write" "$BIN" write -h
expect 0 "plcio sim s7" "$BIN" sim --help
expect 0 "--frame-timeout MS" "$BIN" sim s7 --help
expect 0 "--listen HOST:PORT" "$BIN" sim modbus --help

# unknown options name the valid ones; values are checked
expect 2 "read: unknown option '--bogus'; valid options: --json --layout" "$BIN" read s7://127.0.0.1:1 MW0 --bogus
expect 2 "sim modbus: unknown option '--tcpp'; valid options: --listen" "$BIN" sim modbus --tcpp 127.0.0.1:0
expect 2 "--json takes no value" "$BIN" read s7://127.0.0.1:1 MW0 --json=yes
expect 2 "option --timeout needs a value (MS)" "$BIN" read s7://127.0.0.1:1 MW0 --timeout
expect 2 "unknown protocol 'opcua'" "$BIN" sim opcua
expect 2 "" "$BIN" sim
expect 2 "--unit is for modbus" "$BIN" read s7://127.0.0.1:1 MW0 --unit 1
expect 2 "--layout is for s7:// URLs" "$BIN" read modbus-tcp://127.0.0.1:1 hr0 --layout x.db
expect 2 "--timeout: milliseconds" "$BIN" read s7://127.0.0.1:1 MW0 --timeout=0
expect 2 "--password: at most 8 characters" "$BIN" info s7://127.0.0.1:1 --password 123456789
# --timeout is an S7 option now too (it reaches the connection, not the parser)
expect 1 "connection refused" "$BIN" read s7://127.0.0.1:1 MW0 --timeout=500

# --opt=value, --opt value and the old spellings, end to end
"$BIN" sim modbus --tcp=127.0.0.1:0 --unit=1 --trace --seconds 30 > "$TMP/sim" 2> "$TMP/trace" &
SIM=$!
wait_listen "$TMP/sim"
M="modbus-tcp://127.0.0.1:$(sed -n 's/.*:\([0-9]*\) (tcp)/\1/p' "$TMP/sim")"
expect 0 "" "$BIN" write "$M" --unit=1 hr3=17
expect 0 "hr3 = 17" "$BIN" read "$M" hr3 --unit 1 --timeout=2000
grep -q "fc=06\|FC 6\|06" "$TMP/trace" || fail "--trace (now --verbose) logged no frame: $(head -3 "$TMP/trace")"
kill "$SIM"; wait "$SIM" 2>/dev/null; SIM=

"$BIN" sim s7 --listen=127.0.0.1:0 --db=1:64 --seconds=30 > "$TMP/sim" 2>&1 &
SIM=$!
wait_listen "$TMP/sim"
U="s7://$(sed -n 's/.*listening on //p' "$TMP/sim")"
expect 0 "" "$BIN" write "$U" DB1.DBW0:INT=-3 --timeout=2000
expect 0 '{"DB1.DBW0:INT": -3}' "$BIN" read --json "$U" DB1.DBW0:INT
expect 1 "address out of range: DB1 is 64 bytes" "$BIN" read "$U" DB1.DBW64
echo "ok"
