#!/bin/sh
# CLI tests for `plcio layout`: text and JSON output on the real TIA exports,
# exit status 0 (ok), 1 (bad file or refused DB), 2 (bad usage).
# usage: test_layout_cli.sh PLCIO_BINARY FIXTURES_DIR
set -u
BIN=$1
FX=$2/layouts
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0

fail() {
    echo "FAIL: $*"
    echo "--- stdout:"; cat "$TMP/out"
    echo "--- stderr:"; cat "$TMP/err"
    exit 1
}

# run WANT_STATUS CMD...: run, capture, check the exit status
run() {
    want=$1
    shift
    n=$((n + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "exit status $got, expected $want: $*"
}

has() { grep -E -q -- "$1" "$TMP/out" || fail "stdout lacks /$1/"; }
err_has() { grep -E -q -- "$1" "$TMP/err" || fail "stderr lacks /$1/"; }
json() { "$PY" -c "import json,sys; d=json.load(open('$TMP/out')); $1" || fail "JSON check failed: $1"; }

# --- text output: one row per leaf, the DB size, offsets as TIA printed them
run 0 "$BIN" layout "$FX/seed_db_data_exchange.db"
has '^DB_data_exchange: 48 bytes, 38 members$'
has '^  Power +BOOL +0\.0 +1 +false$'
has '^  bool_data18 +BOOL +2\.2 +1 +false$'
has '^  byte_data3 +BYTE +6\.0 +1 +0$'
has '^  Release_valve +INT +8\.0 +2 +0$'
has '^  Tank_level +REAL +28\.0 +4 +0\.0$'
has '^  real_data4 +REAL +44\.0 +4 +0\.0$'
[ -s "$TMP/err" ] && fail "unexpected stderr"

# --- JSON, exactly the documented shape
run 0 "$BIN" layout --json "$FX/test_db.db"
json "
want = {'name': 'test_db', 'size': 18, 'members': [
  {'name': 'vx_scaled', 'type': 'REAL', 'byte': 0, 'bit': None, 'size': 4, 'start': 4.0},
  {'name': 'vy_scaled', 'type': 'REAL', 'byte': 4, 'bit': None, 'size': 4, 'start': 5.0},
  {'name': 'vz_scaled', 'type': 'REAL', 'byte': 8, 'bit': None, 'size': 4, 'start': 6.0},
  {'name': 'bool_1', 'type': 'BOOL', 'byte': 12, 'bit': 0, 'size': 1, 'start': False},
  {'name': 'bool_2', 'type': 'BOOL', 'byte': 12, 'bit': 1, 'size': 1, 'start': True},
  {'name': 'bool_3', 'type': 'BOOL', 'byte': 12, 'bit': 2, 'size': 1, 'start': True},
  {'name': 'bool_4', 'type': 'BOOL', 'byte': 12, 'bit': 3, 'size': 1, 'start': False},
  {'name': 'int_1', 'type': 'INT', 'byte': 14, 'bit': None, 'size': 2, 'start': 21},
  {'name': 'int_2', 'type': 'INT', 'byte': 16, 'bit': None, 'size': 2, 'start': 74}]}
assert d == want, d
assert isinstance(d['members'][0]['start'], float) and isinstance(d['members'][7]['start'], int)
assert type(d['members'][3]['bit']) is int
"
grep -q '"start": 4.0' "$TMP/out" || fail "REAL start not printed as 4.0"

# --- the SCL source and the table copy give the same layout
run 0 "$BIN" layout --json "$FX/seed_db_data_exchange.db" "$FX/seed_db_data_exchange_tablecopy.tsv"
json "
assert isinstance(d, list) and len(d) == 2, 'two DBs give an array'
a, b = d
assert a['name'] == 'DB_data_exchange' and b['name'] == 'seed_db_data_exchange_tablecopy'
assert a['size'] == b['size'] == 48
assert a['members'] == b['members'], 'layouts differ'
tia = {'Release_valve': 8, 'int_data4': 16, 'word_data0': 18, 'Tank_level': 28, 'real_data4': 44, 'byte_data0': 3}
for m in a['members']:
    if m['name'] in tia: assert m['byte'] == tia[m['name']], m
"

# --- UDTs across files, given in either order; nested names
run 0 "$BIN" layout "$FX/udt_database.udt" "$FX/udt_barcode.udt"
has '^no DATA_BLOCK in the files; layouts of the user types:$'
has '^UDT_DATABASE_M: 182 bytes'
has '^  STATUS\.Mem\.Enabled +BOOL +172\.0 +1 +true$'
has '^  REQUEST\.Auto\.DataBarcodeCode\[2\]\.Digit\[13\] +CHAR +54\.0 +1'
run 0 "$BIN" layout --json "$FX/udt_barcode.udt" "$FX/udt_database.udt"
json "
assert len(d) == 11
code = [t for t in d if t['name'] == 'UDT_BARCODE_CODE'][0]
assert code['size'] == 14 and len(code['members']) == 13
assert code['members'][12] == {'name': 'Digit[13]', 'type': 'CHAR', 'byte': 12, 'bit': None, 'size': 1, 'start': '\\u0000'}, code['members'][12]
"
run 0 "$BIN" layout "$FX/udt_synthetic.scl"
has '^  station\.m2\.Name +STRING\[20\] +58\.0 +22 +'"''"'$'
has '^  tail +INT +82\.0 +2 +2$'

# --- a DB file whose UDT file is missing: exit 1 with file:line:col
run 1 "$BIN" layout "$FX/udt_database.udt"
err_has '^plcio: .*udt_database\.udt:6:21: unknown data type "UDT_BARCODE"'
[ -s "$TMP/out" ] && fail "output despite the error"

# --- bad input: exit 1 and one line naming file, line, column
printf 'DATA_BLOCK "X"\n{ S7_Optimized_Access := '"'FALSE'"' }\nSTRUCT\n  a : Int\n  b : Int;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n' >"$TMP/bad.db"
run 1 "$BIN" layout "$TMP/bad.db"
err_has "bad\\.db:5:3: expected ';' after the member declaration, found 'b'"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "error is not one line"
printf 'DATA_BLOCK "X"\n{ S7_Optimized_Access := '"'FALSE'"' }\nSTRUCT\n  s : String[300];\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n' >"$TMP/long.db"
run 1 "$BIN" layout --json "$TMP/long.db"
err_has 'long\.db:4:14: String length 300 is over 254'
run 1 "$BIN" layout "$TMP/does-not-exist.db"
err_has 'does-not-exist\.db: cannot open'

# --- optimized DBs are refused, with the way out; --assume-standard for no attribute
printf 'DATA_BLOCK "Opt"\n{ S7_Optimized_Access := '"'TRUE'"' }\nSTRUCT\n  a : Int;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n' >"$TMP/opt.db"
run 1 "$BIN" layout "$TMP/opt.db"
err_has 'opt\.db:1:1: data block "Opt" uses optimized access'
err_has 'untick "Optimized block access"'
printf 'DATA_BLOCK "Plain"\nVERSION : 0.1\nSTRUCT\n  a : Int;\n  b : Bool;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n' >"$TMP/plain.db"
run 1 "$BIN" layout "$TMP/plain.db"
err_has 'no S7_Optimized_Access attribute'
err_has 'pass --assume-standard$'
run 0 "$BIN" layout --assume-standard "$TMP/plain.db"
err_has '^plcio: warning: data block "Plain" has no S7_Optimized_Access attribute'
has '^  b +BOOL +2\.0 +1 +false$'

# --- usage errors: exit 2
run 2 "$BIN" layout
err_has 'no layout file given'
run 2 "$BIN" layout --frobnicate "$FX/test_db.db"
err_has "unknown option '--frobnicate'"
run 0 "$BIN" layout --help
has '^usage: plcio layout FILE'
run 0 "$BIN" --help
has 'layout +FILE\.\.\. \[--json\]'

echo "cli_layout: $n runs passed"
