#!/bin/sh
# Run every benchmark executable of a build directory (default build/).
# usage: bench/run.sh [BUILD_DIR]
BUILD=${1:-build}
dir="$BUILD/bench"
status=0
found=0
for b in "$dir"/bench_*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    found=1
    echo "== $(basename "$b")"
    "$b" || status=1
done
[ "$found" -eq 1 ] || echo "no benchmarks built in $dir (cmake --build $BUILD --target bench_all)"
# The Python package against python-snap7 and pymodbus (needs libplcio.so of this build).
if [ -x /usr/bin/python3 ] && [ -f "$BUILD/libplcio.so.2" ]; then
    echo "== python_clients.py"
    /usr/bin/python3 "$(dirname "$0")/python_clients.py" "$BUILD" || status=1
fi
exit $status
