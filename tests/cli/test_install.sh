#!/bin/sh
# make install into a temporary PREFIX (the build was configured for another):
# the plcio binary, the man pages generated from the option tables (plcio(1)
# and one per command) and the bash completion (the installed pages render and
# name the options); the Python package, which the installed binary's "Attach
# from Python" line finds under PREFIX, never in the build or source tree; the
# pkg-config file, against which a small program builds and runs, linked with
# the shared library and with the static one.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -u
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$2" && pwd)
TMP=$(mktemp -d)
DEMO=
cleanup() { [ -n "$DEMO" ] && kill "$DEMO" 2>/dev/null; rm -rf "$TMP"; }
fail() { echo "FAIL: $*"; cleanup; exit 1; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# what a user types (the build is up to date: make's build step does nothing)
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SRC" install PREFIX="$TMP/prefix" BUILD="$BUILD" JOBS=1 > "$TMP/log" 2>&1 ||
  fail "make install: $(tail -20 "$TMP/log")"
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

# ---- the installed binary names the installed Python package, not the build tree ----
NAME="plcio-inst-$$"
(cd "$TMP" && exec "$P/bin/plcio" demo --seconds 120 --shm "$NAME") > "$TMP/demo" 2>&1 &
DEMO=$!
i=0
while ! grep -q "Attach from Python" "$TMP/demo" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 100 ] && fail "installed demo printed no attach line: $(cat "$TMP/demo")"; sleep 0.1
done
LINE=$(grep "Attach from Python: " "$TMP/demo" | head -1 | sed 's/^Attach from Python: //')
case "$LINE" in
  *"$BUILD"*|*"$SRC"*) fail "the installed binary points into the build or source tree: $LINE" ;;
esac
case "$LINE" in
  *"PYTHONPATH=$P/"*) ;;
  *) fail "the attach line does not name the package under PREFIX $P: $LINE" ;;
esac
# the first cycle's values in the segment (polled: the line is printed before the first read)
i=0
until "$P/bin/plcio" shm "$NAME" > "$TMP/table" 2>&1 && grep -q "Level *REAL .* good" "$TMP/table"; do
  i=$((i + 1)); [ $i -gt 300 ] && fail "installed demo: no good Level: $(cat "$TMP/table")"; sleep 0.1
done
(cd / && env -u PYTHONPATH sh -c "$LINE") > "$TMP/py" 2>&1 || fail "the printed line failed: $LINE: $(cat "$TMP/py")"
grep -q "'Level': " "$TMP/py" || fail "the printed line read no Level: $(cat "$TMP/py")"
kill -INT "$DEMO"; wait "$DEMO"; DEMO=

# ---- pkg-config: a program against the installed library, shared and static ----
PC=$(find "$P" -name plcio.pc | head -1)
[ -n "$PC" ] || fail "no plcio.pc installed"
export PKG_CONFIG_PATH="${PC%/plcio.pc}"
LIBDIR=$(pkg-config --variable=libdir plcio) || fail "pkg-config cannot read $PC"
[ "$(cd "$LIBDIR" && pwd)" = "$(cd "$(dirname "$(find "$P" -name 'libplcio.so' | head -1)")" && pwd)" ] ||
  fail "plcio.pc's libdir $LIBDIR is not where libplcio.so went (prefix baked in at configure time?)"
# Uses the configuration parser (libyaml) and builds an engine without shared
# memory (the sync engine: libpq, zlib, OpenSSL through the drivers) so a static
# link needs every private library.
cat > "$TMP/prog.c" <<'PROG'
#include <stdio.h>
#include <string.h>
#include <plcio/plcio.h>
#include <plcio/sync.h>
int main(void)
{
    static const char yaml[] = "devices:\n  - url: modbus-tcp://127.0.0.1:1\n    groups:\n"
                               "      - {interval: 100ms, tags: [{address: hr0}]}\n";
    plcio_sync_config *cfg = NULL;
    plcio_error err = {0};
    if (plcio_sync_config_parse(yaml, strlen(yaml), "prog", NULL, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "parse: %s\n", err.text);
        return 1;
    }
    plcio_sync_options o = {0};
    o.no_shm = true;
    plcio_sync *s = NULL;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", err.text);
        return 1;
    }
    printf("plcio %s: %zu tag\n", plcio_version(), plcio_sync_tag_count(s));
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    return 0;
}
PROG
# the build's compiler, and its sanitizers when the library has them
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
SAN=
grep -q '^PLCIO_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SAN="-fsanitize=address,undefined"
# shellcheck disable=SC2046,SC2086
"${CC:-cc}" $SAN -o "$TMP/prog-shared" "$TMP/prog.c" $(pkg-config --cflags --libs plcio) -Wl,-rpath,"$LIBDIR" 2> "$TMP/cc" ||
  fail "build against plcio.pc (shared): $(cat "$TMP/cc")"
"$TMP/prog-shared" > "$TMP/run" 2>&1 || fail "shared program: $(cat "$TMP/run")"
grep -q "1 tag" "$TMP/run" || fail "shared program: $(cat "$TMP/run")"
ldd "$TMP/prog-shared" | grep -q "$LIBDIR/libplcio.so" || fail "not linked with the installed libplcio.so: $(ldd "$TMP/prog-shared")"
# static libplcio.a, the system libraries shared, as pkg-config --static lists them
STATIC_LIBS=$(pkg-config --static --libs plcio | sed 's/ -lplcio / /; s/^-lplcio //; s/ -lplcio$//')
# shellcheck disable=SC2046,SC2086
"${CC:-cc}" $SAN -o "$TMP/prog-static" "$TMP/prog.c" $(pkg-config --cflags plcio) "$LIBDIR/libplcio.a" $STATIC_LIBS 2> "$TMP/cc" ||
  fail "build against plcio.pc (static, $STATIC_LIBS): $(cat "$TMP/cc")"
"$TMP/prog-static" > "$TMP/run" 2>&1 || fail "static program: $(cat "$TMP/run")"
grep -q "1 tag" "$TMP/run" || fail "static program: $(cat "$TMP/run")"
ldd "$TMP/prog-static" | grep -q libplcio && fail "the static program loads libplcio.so"

# ---- the CMake package: the same program against plcio::plcio_static and plcio::plcio ----
mkdir -p "$TMP/cm"
cp "$TMP/prog.c" "$TMP/cm/prog.c"
cat > "$TMP/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(plcio 2 REQUIRED)
add_executable(prog-static prog.c)
target_link_libraries(prog-static plcio::plcio_static)
add_executable(prog-shared prog.c)
target_link_libraries(prog-shared plcio::plcio)
CM
cmake -S "$TMP/cm" -B "$TMP/cm/b" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="${CC:-cc}" \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" > "$TMP/cm/log" 2>&1 ||
  fail "find_package(plcio) from $P: $(tail -20 "$TMP/cm/log")"
cmake --build "$TMP/cm/b" > "$TMP/cm/log" 2>&1 || fail "build against the CMake package: $(tail -20 "$TMP/cm/log")"
for prog in prog-static prog-shared; do
  "$TMP/cm/b/$prog" > "$TMP/run" 2>&1 || fail "CMake $prog: $(cat "$TMP/run")"
  grep -q "1 tag" "$TMP/run" || fail "CMake $prog: $(cat "$TMP/run")"
done

echo "ok: $n man pages, completion, binary, Python package, pkg-config and CMake package (shared and static) under $P"
