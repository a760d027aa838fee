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
exit $status
